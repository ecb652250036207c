//! Lower-case hexadecimal, the one spelling of every hash and token loaxa stores or shows.
//! It sits below everything, the journal included.

/// `bytes` as lower-case hex digits, two a byte.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}
