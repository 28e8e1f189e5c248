//! The adapter's online-profiling entry points: observations recorded per
//! input class into the current epoch's windows, and lock-free reads of the
//! hint set in force (for services that must not clone it per request).

use super::decide::{Adapter, Compiled};
use super::{AdapterError, Observations};
use crate::hints::HintSet;
use crate::model::Size;
use arc_swap::ArcSwap;

impl Adapter {
    /// An adapter whose observation windows keep the last `window` latencies
    /// per (function, size, class).
    pub fn with_window(hints: HintSet, window: usize) -> Self {
        Adapter {
            current: ArcSwap::from_pointee(Compiled::new(hints)),
            observations: Observations::with_window(window),
        }
    }

    /// Check one observed latency against the hint set in force and return
    /// the input class it belongs to, without recording it (a service logs
    /// it durably first). The class is the one `decide` would use for the
    /// same request features, so windows line up with the hint tables.
    pub fn check_observation(
        &self,
        function: &str,
        size: Size,
        latency_ms: f64,
        features: Option<&[f64]>,
    ) -> Result<Option<usize>, AdapterError> {
        if !crate::model::is_latency_ms(latency_ms) {
            return Err(AdapterError::BadLatency(latency_ms));
        }
        // decide validates the function and the features and classifies them:
        // one place for that logic, and it neither locks nor allocates.
        let class = self.decide(function, &super::Query { features, ..super::Query::default() })?.class;
        let cur = self.current.load();
        let allowed = cur.index.get(function).is_some_and(|&i| cur.hints.hints[i].options.contains(&size));
        if !allowed {
            return Err(AdapterError::UnknownSize { function: function.to_string(), size: size.to_string() });
        }
        Ok(class)
    }

    /// Record the latency observed for one invocation of the run with these
    /// request features, in the window of its (function, size, class).
    /// Returns the class.
    pub fn observe_run(
        &self,
        function: &str,
        size: Size,
        latency_ms: f64,
        features: Option<&[f64]>,
    ) -> Result<Option<usize>, AdapterError> {
        let class = self.check_observation(function, size, latency_ms, features)?;
        self.observations.record(function, size, class, latency_ms);
        Ok(class)
    }

    /// Run `f` on the hint set in force without cloning it or taking a lock.
    pub fn with_hints<R>(&self, f: impl FnOnce(&HintSet) -> R) -> R {
        f(&self.current.load().hints)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapter::fixture::{classed_hints as classed, SMALL};

    #[test]
    fn observations_land_in_the_window_of_their_class() {
        let a = Adapter::with_window(classed(), 8);
        let s = SMALL;
        assert_eq!(a.observe_run("a", s, 100.0, Some(&[3.0])).unwrap(), Some(0));
        assert_eq!(a.observe_run("a", s, 300.0, Some(&[30.0])).unwrap(), Some(1));
        assert_eq!(a.observe_run("a", s, 200.0, None).unwrap(), None);
        let w = a.observations().windows();
        assert_eq!(
            w.iter().map(|w| (w.class, w.count)).collect::<Vec<_>>(),
            vec![(None, 1), (Some(0), 1), (Some(1), 1)]
        );
    }

    #[test]
    fn bad_observations_are_refused_and_not_recorded() {
        let a = Adapter::new(classed());
        let s = SMALL;
        assert!(matches!(a.observe_run("nope", s, 1.0, None), Err(AdapterError::UnknownFunction { .. })));
        assert!(matches!(a.observe_run("a", Size::new(1, 1), 1.0, None), Err(AdapterError::UnknownSize { .. })));
        assert!(matches!(a.observe_run("a", s, f64::NAN, None), Err(AdapterError::BadLatency(_))));
        assert!(matches!(a.observe_run("a", s, 1.0, Some(&[f64::INFINITY])), Err(AdapterError::BadFeature(_))));
        assert_eq!(a.observations().total(), 0);
    }

    #[test]
    fn a_swap_starts_a_new_epoch() {
        let a = Adapter::new(classed());
        let s = SMALL;
        a.observe("a", s, 100.0).unwrap();
        assert_eq!(a.observations().count(), 1);
        a.swap(classed()).unwrap();
        assert_eq!((a.observations().count(), a.observations().epoch()), (0, 1));
        assert_eq!(a.with_hints(|h| h.workflow.name().to_string()), "feat");
    }
}
