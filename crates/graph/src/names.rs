//! OneDrive / SharePoint name rules, checked before upload so a bad name fails here with a
//! reason instead of as a 400 from Graph (spec §3.9).

use crate::GraphError;

/// Characters not allowed anywhere in a name.
const RESERVED_CHARS: &[char] = &['"', '*', ':', '<', '>', '?', '/', '\\', '|'];

/// Names not allowed (compared case-insensitively).
const RESERVED_NAMES: &[&str] = &[".lock", "CON", "PRN", "AUX", "NUL", "desktop.ini"];

/// Longest single name this client sends.
pub const NAME_CHARS_MAX: usize = 255;

/// Checks one file or folder name against the current OneDrive rules.
pub fn check_name(name: &str) -> Result<(), GraphError> {
    let bad = |why: &str| Err(GraphError::Invalid(format!("file name {name:?} {why}")));
    if name.is_empty() {
        return bad("is empty");
    }
    if name.chars().count() > NAME_CHARS_MAX {
        return bad("is longer than 255 characters");
    }
    if let Some(c) = name
        .chars()
        .find(|c| RESERVED_CHARS.contains(c) || c.is_control())
    {
        return bad(&format!("contains the reserved character {c:?}"));
    }
    if name.starts_with(' ') || name.ends_with(' ') {
        return bad("starts or ends with a space");
    }
    if name.ends_with('.') {
        return bad("ends with a dot");
    }
    if name.starts_with("~$") {
        return bad("starts with ~$");
    }
    if name.to_ascii_lowercase().contains("_vti_") {
        return bad("contains _vti_");
    }
    let upper = name.to_ascii_uppercase();
    let stem = upper.split('.').next().unwrap_or("");
    let is_device = |prefix: &str| {
        stem.len() == 4 && stem.starts_with(prefix) && stem.as_bytes()[3].is_ascii_digit()
    };
    if RESERVED_NAMES.iter().any(|r| r.eq_ignore_ascii_case(name))
        || ["CON", "PRN", "AUX", "NUL"].contains(&stem)
        || is_device("COM")
        || is_device("LPT")
    {
        return bad("is reserved");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_onedrive_refuses_are_refused_here_first() {
        for bad in [
            "",
            "a:b",
            "what?",
            "x|y",
            "a/b",
            "trailing.",
            " lead",
            "trail ",
            "~$lock.docx",
            "my_vti_file",
            "CON",
            "con.txt",
            "COM1",
            "lpt9.log",
            "desktop.ini",
            ".lock",
        ] {
            assert!(check_name(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn ordinary_names_with_hash_percent_and_unicode_pass() {
        for ok in [
            "report #1 (final) 100%.pdf",
            "Ünïcødé.txt",
            "COMMENTS.md",
            "console.log",
        ] {
            assert!(check_name(ok).is_ok(), "{ok:?} must pass");
        }
    }
}
