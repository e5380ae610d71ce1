//! Check-character algorithms of the mainland identifier standards.
//!
//! Each function is the standard's algorithm and nothing else; the newtypes
//! in [`super::documents`] decide where they apply.

const ALNUM36: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

fn alnum36_value(c: u8) -> Option<u32> {
    match c {
        b'0'..=b'9' => Some(u32::from(c - b'0')),
        b'A'..=b'Z' => Some(u32::from(c - b'A') + 10),
        _ => None,
    }
}

/// ISO/IEC 7064 MOD 37,36 check character (GB/T 36904): `0-9A-Z` valued
/// 0–35, upper case only. `None` when `data` holds another character.
pub fn mod37_36_check(data: &str) -> Option<char> {
    let mut p: u32 = 36;
    for c in data.bytes() {
        let s = p + alnum36_value(c)?;
        let mut r = s % 36;
        if r == 0 {
            r = 36;
        }
        p = (2 * r) % 37;
    }
    Some(ALNUM36[((37 - p) % 36) as usize] as char)
}

/// The USCC alphabet of GB 32100 (no I, O, Z, S, V).
const USCC_ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

fn uscc_value(c: u8) -> Option<u32> {
    USCC_ALPHABET.iter().position(|&a| a == c).map(|p| p as u32)
}

/// GB 32100 check character over the first 17 characters.
pub fn uscc_check(first17: &str) -> Option<char> {
    if first17.len() != 17 {
        return None;
    }
    let mut sum = 0;
    for (c, w) in first17.bytes().zip(USCC_WEIGHTS) {
        sum += uscc_value(c)? * w;
    }
    let c = (31 - sum % 31) % 31;
    Some(USCC_ALPHABET[c as usize] as char)
}

/// GB 11714 organisation-code check over 8 characters: values 0–9 and
/// A=10 … Z=35 (all letters, unlike the USCC alphabet).
pub fn gb11714_check(first8: &str) -> Option<char> {
    const W: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];
    if first8.len() != 8 {
        return None;
    }
    let mut sum = 0;
    for (c, w) in first8.bytes().zip(W) {
        sum += alnum36_value(c)? * w;
    }
    Some(match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        d => char::from_digit(d, 10).expect("digit below 10"),
    })
}

/// GB 11643 MOD 11-2 check character over the first 17 digits.
pub fn gb11643_check(first17: &str) -> Option<char> {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const MAP: &[u8; 11] = b"10X98765432";
    if first17.len() != 17 {
        return None;
    }
    let mut sum = 0;
    for (c, w) in first17.bytes().zip(W) {
        if !c.is_ascii_digit() {
            return None;
        }
        sum += u32::from(c - b'0') * w;
    }
    Some(MAP[(sum % 11) as usize] as char)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mod37_36_vectors() {
        // reference/vectors.md: data = type ‖ issuer ‖ serial ‖ version.
        let rows = [
            ("11100000000013338W011", "11430000006122244L", "20230000403", "001", 'U'),
            ("11100000000013338W032", "11220000013544541J", "2430599", "001", 'F'),
            ("11100000000013338W009", "11330105002500287C", "2025052201", "002", '0'),
            ("11100000MB03271699022", "340100", "000000016", "001", '9'),
        ];
        for (t, i, s, v, check) in rows {
            assert_eq!(mod37_36_check(&format!("{t}{i}{s}{v}")), Some(check), "{t}.{i}.{s}.{v}");
        }
        assert_eq!(mod37_36_check("abc"), None);
    }

    #[test]
    fn uscc_vectors() {
        for v in [
            "11100000000013338W",
            "11430000006122244L",
            "11220000013544541J",
            "11330105002500287C",
            "91120222MA06DG3067",
            "11110000000021135M",
            "11100000MB0341032Y",
            "11420503087246977F",
            "91370406L24894136J",
        ] {
            assert_eq!(uscc_check(&v[..17]), v.chars().nth(17), "{v}");
            assert_eq!(gb11714_check(&v[8..16]), v.chars().nth(16), "embedded org code of {v}");
        }
    }

    #[test]
    fn gb11643_vectors() {
        for v in ["810000199408230021", "830000199201300022", "13043419840726291X"] {
            assert_eq!(gb11643_check(&v[..17]), v.chars().nth(17), "{v}");
        }
        assert_eq!(gb11643_check("81000019940823002A"), None);
    }
}
