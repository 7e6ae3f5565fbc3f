//! What the chapter's message-queue tools share: messages as C strings.

/// The bytes of a C string for `mtext`: `text` and its terminating NUL, as the slides' programs send
/// it (`strlen(text) + 1` bytes), so "Hi! my parent" travels as 14 bytes and a C peer can print it.
pub fn with_nul(text: &str) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(text.len() + 1);
    bytes.extend_from_slice(text.as_bytes());
    bytes.push(0);
    bytes
}

/// The text of a received `mtext`: up to its first NUL (all of it if a truncating `MSG_NOERROR`
/// receive cut the NUL off, or the sender sent none).
pub fn text_of(mtext: &[u8]) -> String {
    let end = mtext.iter().position(|&byte| byte == 0).unwrap_or(mtext.len());
    String::from_utf8_lossy(&mtext[..end]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_strings_carry_their_nul() {
        assert_eq!(with_nul("Hi! my parent").len(), 14);
        assert_eq!(text_of(&with_nul("Hi! my parent")), "Hi! my parent");
        assert_eq!(text_of(b"hell"), "hell", "truncated: no NUL");
    }
}
