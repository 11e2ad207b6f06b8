//! Instance names: they become folder names, so only a short safe alphabet is accepted.

use super::InstanceError;

/// The longest name accepted.
pub const MAX_LEN: usize = 63;

/// Checks that `name` is 1–63 characters of `a-z`, `0-9`, `_` and `-`, starting with a letter
/// or digit: no `/`, `..`, dots, spaces or upper case, so it can only ever name one folder
/// directly inside the registry.
pub fn validate(name: &str) -> Result<&str, InstanceError> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let rest_ok = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if first_ok && rest_ok && name.len() <= MAX_LEN {
        Ok(name)
    } else {
        Err(InstanceError::InvalidName(name.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_simple_names() {
        for n in ["pg1", "a", "maria-db_2", "0x", &"a".repeat(63)] {
            assert!(validate(n).is_ok(), "{n}");
        }
    }

    #[test]
    fn refuses_paths_and_odd_names() {
        for n in [
            "",
            "x/..",
            "..",
            ".",
            "../x",
            "a/b",
            "-x",
            "_x",
            "Pg",
            "a b",
            "a.b",
            "é",
            &"a".repeat(64),
        ] {
            let e = validate(n).unwrap_err().to_string();
            assert!(e.contains("a-z"), "{n}: {e}");
        }
    }
}
