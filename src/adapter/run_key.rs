//! Run keys given as strings (an OpenWhisk activation id, a CloudEvent id)
//! turned into the `u64` the adapter takes.

/// A stable 64-bit key of a string run key: FNV-1a over its UTF-8 bytes.
/// Stable across processes, machines and releases (it is part of the
/// contract between glue and adapter: every stage of a run must map its key
/// to the same number), and cheap enough for every invocation.
pub fn run_key_of(s: &str) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    s.bytes().fold(OFFSET, |h, b| (h ^ u64::from(b)).wrapping_mul(PRIME))
}

#[cfg(test)]
mod tests {
    use super::run_key_of;

    #[test]
    fn matches_the_published_fnv1a_vectors() {
        // Test vectors of the FNV reference (Fowler, Noll, Vo).
        assert_eq!(run_key_of(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(run_key_of("a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(run_key_of("foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn different_activation_ids_get_different_keys() {
        let a = run_key_of("4f91f9ed0d874aaa91f9ed0d87baaa07");
        let b = run_key_of("4f91f9ed0d874aaa91f9ed0d87baaa08");
        assert_ne!(a, b);
        assert_eq!(a, run_key_of("4f91f9ed0d874aaa91f9ed0d87baaa07"));
    }
}
