//! Random record serials: 20 characters drawn uniformly from `[0-9A-Z]` by
//! the OS CSPRNG (≈ 103 bits), so nodes and restarts never coordinate.

/// Length of a serial.
pub const SERIAL_LEN: usize = 20;
const ALPHABET: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// A fresh serial. Bytes ≥ 252 are rejected so every symbol is equally
/// likely (252 = 7 × 36).
pub fn random_serial() -> Result<String, openssl::error::ErrorStack> {
    let mut out = String::with_capacity(SERIAL_LEN);
    let mut buf = [0u8; 32];
    while out.len() < SERIAL_LEN {
        openssl::rand::rand_bytes(&mut buf)?;
        for b in buf {
            if b < 252 && out.len() < SERIAL_LEN {
                out.push(ALPHABET[usize::from(b % 36)] as char);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_are_20_alnum_and_distinct() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1000 {
            let s = random_serial().unwrap();
            assert_eq!(s.len(), SERIAL_LEN);
            assert!(s.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()));
            assert!(seen.insert(s));
        }
    }

    #[test]
    fn symbols_roughly_uniform() {
        let mut counts = [0u32; 36];
        for _ in 0..2000 {
            for b in random_serial().unwrap().bytes() {
                counts[ALPHABET.iter().position(|&a| a == b).unwrap()] += 1;
            }
        }
        // 40 000 draws, 1111 expected per symbol; a bias of 1/7 would show.
        assert!(counts.iter().all(|&c| (900..1350).contains(&c)), "{counts:?}");
    }
}
