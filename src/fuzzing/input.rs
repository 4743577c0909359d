//! Turns the fuzzer's raw bytes into choices, or into the lines of a
//! script. Reading past the end yields zeros, so every byte string is a
//! valid input and a longer input only ever adds choices at the end
//! (libFuzzer and proptest both shrink well).

/// The input's lines, split at `\n`. Its final newline ends its last line
/// and starts no new, empty one.
pub(crate) fn lines(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    data.split_inclusive(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\n").unwrap_or(line))
}

pub(crate) struct ByteReader<'a> {
    data: &'a [u8],
}

impl<'a> ByteReader<'a> {
    pub(crate) fn new(data: &'a [u8]) -> ByteReader<'a> {
        ByteReader { data }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub(crate) fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&first, rest)) => {
                self.data = rest;
                first
            }
            None => 0,
        }
    }

    pub(crate) fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()])
    }

    /// A number in `0..n` (0 when `n` is 0), from as few bytes as it needs.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        match n {
            0 | 1 => 0,
            2..=256 => usize::from(self.byte()) % n,
            257..=65536 => usize::from(u16::from_le_bytes([self.byte(), self.byte()])) % n,
            _ => usize::try_from(self.u32()).unwrap_or(0) % n,
        }
    }

    /// True one time in `n`.
    pub(crate) fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    /// Up to `max` bytes taken as they are.
    pub(crate) fn bytes(&mut self, max: usize) -> &'a [u8] {
        let n = self.below(max + 1).min(self.data.len());
        let (taken, rest) = self.data.split_at(n);
        self.data = rest;
        taken
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exhausted_input_reads_zeros() {
        let mut r = ByteReader::new(&[7, 1]);
        assert_eq!(r.below(5), 2);
        assert!(!r.is_empty());
        assert_eq!(r.byte(), 1);
        assert!(r.is_empty());
        assert_eq!(r.byte(), 0);
        assert_eq!(r.below(1000), 0);
        assert_eq!(r.bytes(10), b"");
        assert!(r.one_in(3));
    }

    #[test]
    fn lines_end_at_newlines_and_the_last_newline_starts_no_line() {
        let split = |data: &'static [u8]| lines(data).collect::<Vec<_>>();
        assert_eq!(split(b""), Vec::<&[u8]>::new());
        assert_eq!(split(b"\n"), vec![b"".as_slice()]);
        assert_eq!(split(b"a\n\nb"), vec![b"a".as_slice(), b"", b"b"]);
        assert_eq!(split(b"a\n\n"), vec![b"a".as_slice(), b""]);
    }

    #[test]
    fn below_stays_in_range_and_bytes_takes_at_most_max() {
        let mut r = ByteReader::new(&[255, 255, 255, 255, 255, 255, 255, 255, 2, 1, 2, 3, 4]);
        assert!(r.below(256) < 256);
        assert!(r.below(300) < 300);
        assert!(r.below(1 << 20) < 1 << 20);
        assert!(r.below(7) < 7);
        assert_eq!(r.bytes(2), &[1, 2]);
        assert_eq!(r.u32(), u32::from_le_bytes([3, 4, 0, 0]));
    }
}
