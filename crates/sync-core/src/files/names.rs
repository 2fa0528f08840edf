//! OneDrive-safe names, reversibly.
//!
//! OneDrive and SharePoint refuse some names (spec `graph.md` §3.9, from Microsoft's
//! "Restrictions and limitations in OneDrive and SharePoint" and the driveItem addressing
//! page): the characters `" * : < > ? / \ |` anywhere; leading or trailing spaces; a
//! trailing dot; the names `.lock`, `CON`, `PRN`, `AUX`, `NUL`, `COM0`–`COM9`,
//! `LPT0`–`LPT9` (also with an extension, as Windows reads them: `con.txt`),
//! `desktop.ini`; names starting with `~$`; `_vti_` anywhere; more than 255 characters for
//! one name and 400 for the whole decoded path. Control characters are refused too (the
//! graph crate's `check_name`); C0 controls and DEL map to their Control Pictures, the
//! rare C1 controls to U+FFFD (not reversible: the original stays in Odoo).
//!
//! [`to_drive`] maps any Odoo name to an accepted one by replacing only the offending
//! characters with look-alikes (the scheme rclone's `encoder` popularised for OneDrive):
//! a reserved ASCII character becomes its fullwidth form (`:` → `：`, U+FF1A), a control
//! character its Control Picture (U+2400 + c), a leading or trailing space `␠` (U+2420),
//! a trailing dot `．`; a reserved name gets the fullwidth form of one letter (`CON` →
//! `COＮ`), `~$` becomes `～$`, `_vti_` becomes `＿vti_`. A name that already contains one
//! of those look-alikes (or the escape `‛`, U+201B) gets it prefixed with `‛`, so
//! [`from_drive`] undoes every substitution exactly: `from_drive(to_drive(n)) == n` for
//! every name within the length limit (property-tested). A name from OneDrive that
//! [`to_drive`] could not have produced (the user typed `：` themselves) is taken
//! verbatim.
//!
//! Lengths are counted in UTF-16 code units, as SharePoint counts them. A name over the
//! limit is shortened, keeping its extension, with a hash of the whole name so two long
//! names stay distinct; that one mapping is not reversible, which is why the original name
//! always stays in Odoo and a link never depends on the OneDrive name.

use sha2::{Digest, Sha256};

/// Longest single name (UTF-16 units).
pub const NAME_MAX: usize = 255;
/// Longest decoded path, including the file name (UTF-16 units): "under 400".
pub const PATH_MAX: usize = 399;

const ESCAPE: char = '\u{201B}';
const SPACE_PICTURE: char = '\u{2420}';
const RESERVED_CHARS: &[char] = &['"', '*', ':', '<', '>', '?', '/', '\\', '|'];
const DEVICE_NAMES: &[&str] = &["CON", "PRN", "AUX", "NUL"];

fn fullwidth(c: char) -> char {
    // U+FF01..U+FF5E are the fullwidth forms of ASCII 0x21..0x7E.
    char::from_u32(c as u32 + 0xFEE0).unwrap_or(c)
}

/// Characters the encoder produces: fullwidth ASCII, Control Pictures of C0 and space,
/// and the escape itself. A literal one in a name is escaped.
fn is_lookalike(c: char) -> bool {
    matches!(c as u32, 0xFF01..=0xFF5E | 0x2400..=0x2421) || c == ESCAPE
}

fn unlookalike(c: char) -> char {
    match c as u32 {
        u @ 0xFF01..=0xFF5E => char::from_u32(u - 0xFEE0).unwrap_or(c),
        0x2420 => ' ',
        0x2421 => '\u{7F}',
        u @ 0x2400..=0x241F => char::from_u32(u - 0x2400).unwrap_or(c),
        _ => c,
    }
}

fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

/// Whether OneDrive accepts `name` as one file or folder name (length aside).
pub fn is_safe(name: &str) -> bool {
    if name.is_empty() || name.starts_with(' ') || name.ends_with(' ') || name.ends_with('.') {
        return false;
    }
    if name
        .chars()
        .any(|c| RESERVED_CHARS.contains(&c) || c.is_control())
    {
        return false;
    }
    if name.starts_with("~$") || name.to_ascii_lowercase().contains("_vti_") {
        return false;
    }
    !is_reserved_name(name)
}

fn is_reserved_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    if lower == ".lock" || lower == "desktop.ini" {
        return true;
    }
    let stem = lower.split('.').next().unwrap_or("").to_ascii_uppercase();
    if DEVICE_NAMES.contains(&stem.as_str()) {
        return true;
    }
    stem.len() == 4
        && (stem.starts_with("COM") || stem.starts_with("LPT"))
        && stem.as_bytes()[3].is_ascii_digit()
}

/// The OneDrive name for an Odoo name (see the module docs), within [`NAME_MAX`].
pub fn to_drive(name: &str) -> String {
    if name.is_empty() {
        // Odoo requires a name, but a blank one can come through the API.
        return "(unnamed)".to_owned();
    }
    let chars: Vec<char> = name.chars().collect();
    let last = chars.len() - 1;
    let mut out: Vec<(char, bool)> = Vec::with_capacity(chars.len()); // (char, escaped)
    for (i, &c) in chars.iter().enumerate() {
        let mapped = if is_lookalike(c) {
            out.push((ESCAPE, true));
            c
        } else if RESERVED_CHARS.contains(&c) {
            fullwidth(c)
        } else if (c as u32) < 0x20 {
            char::from_u32(0x2400 + c as u32).unwrap_or(c)
        } else if c == '\u{7F}' {
            '\u{2421}'
        } else if c.is_control() {
            // C1 controls have no picture: replaced, not reversible (Odoo keeps the name).
            '\u{FFFD}'
        } else if c == ' ' && (i == 0 || i == last) {
            SPACE_PICTURE
        } else if c == '.' && i == last {
            fullwidth('.')
        } else {
            c
        };
        out.push((mapped, false));
    }
    let mut s: String = out.iter().map(|(c, _)| c).collect();
    if s.starts_with("~$") {
        s.replace_range(0..1, &fullwidth('~').to_string());
    }
    while let Some(i) = s.to_ascii_lowercase().find("_vti_") {
        s.replace_range(i..i + 1, &fullwidth('_').to_string());
    }
    if is_reserved_name(&s) {
        // The last letter of the stem (or of `.lock` / `desktop.ini`'s first part).
        let stem_end = if s.starts_with('.') {
            s.len()
        } else {
            s.find('.').unwrap_or(s.len())
        };
        if let Some((i, c)) = s[..stem_end].char_indices().last() {
            s.replace_range(i..i + c.len_utf8(), &fullwidth(c).to_string());
        }
    }
    fit(&s, name, NAME_MAX)
}

/// The Odoo name for a OneDrive name: undoes [`to_drive`], or keeps the name as is when
/// [`to_drive`] could not have produced it.
pub fn from_drive(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut it = name.chars();
    while let Some(c) = it.next() {
        if c == ESCAPE {
            match it.next() {
                Some(n) => out.push(n),
                None => return name.to_owned(),
            }
        } else {
            out.push(unlookalike(c));
        }
    }
    if to_drive(&out) == name {
        out
    } else {
        name.to_owned()
    }
}

/// `name` shortened to `max` UTF-16 units (kept whole when it fits): the stem is cut and
/// ends with `~` and 8 hex digits of SHA-256 over `original`, the extension is kept.
pub fn fit(name: &str, original: &str, max: usize) -> String {
    if utf16_len(name) <= max {
        return name.to_owned();
    }
    let digest = hex_prefix(original);
    let (stem, ext) = split_ext(name);
    let ext = if utf16_len(ext) > 16 { "" } else { ext };
    let budget = max.saturating_sub(utf16_len(ext) + 9);
    let mut cut = String::new();
    for c in stem.chars() {
        if utf16_len(&cut) + c.len_utf16() > budget {
            break;
        }
        cut.push(c);
    }
    // A cut may leave a space or dot at the end of the stem: harmless before `~hash`.
    format!("{cut}~{digest}{ext}")
}

fn hex_prefix(s: &str) -> String {
    let d = Sha256::digest(s.as_bytes());
    hex::encode(&d[..4])
}

/// `("report", ".pdf")`; a leading dot is part of the stem (`.env` has no extension).
pub fn split_ext(name: &str) -> (&str, &str) {
    match name.rfind('.') {
        Some(i) if i > 0 && i + 1 < name.len() => (&name[..i], &name[i..]),
        _ => (name, ""),
    }
}

/// The first name of `name`, `name (2)`, `name (3)`, … (suffix before the extension) that
/// is not in `taken` (compared case-insensitively, as OneDrive does), within `max`.
pub fn unique(name: &str, taken: &dyn Fn(&str) -> bool, max: usize) -> String {
    let first = fit(name, name, max);
    if !taken(&first.to_lowercase()) {
        return first;
    }
    let (stem, ext) = split_ext(name);
    for n in 2u32.. {
        let candidate = fit(&format!("{stem} ({n}){ext}"), name, max);
        if !taken(&candidate.to_lowercase()) {
            return candidate;
        }
    }
    unreachable!("u32 suffixes run out only after 4 billion names in one folder")
}

/// The name of the copy that keeps Odoo's version in a both-changed conflict:
/// `name (Odoo conflict YYYY-MM-DD).ext`.
pub fn conflict_name(drive_name: &str, date: chrono::NaiveDate) -> String {
    let (stem, ext) = split_ext(drive_name);
    format!("{stem} (Odoo conflict {}){ext}", date.format("%Y-%m-%d"))
}

/// The longest name that fits in a folder whose decoded path (from the drive root, with
/// its leading `/`... or not: only lengths count) is `folder_path`.
pub fn name_budget(folder_path: &str) -> usize {
    NAME_MAX.min(PATH_MAX.saturating_sub(utf16_len(folder_path) + 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_forbidden_character_and_name_becomes_safe_and_comes_back() {
        for name in [
            "a\"b*c:d<e>f?g/h\\i|j.txt",
            " lead.pdf",
            "trail .pdf",
            "trail ",
            "ends.",
            "CON",
            "con.txt",
            "Com7.log",
            "lpt1",
            "PRN.tar.gz",
            ".lock",
            "desktop.ini",
            "DESKTOP.INI",
            "~$report.docx",
            "my_vti_file",
            "a_VTI_b_vti_c",
            "tab\there",
            "already：fullwidth",
            "esc‛ape",
            "␠x␠",
            "COＮ",
            "plain name (2).pdf",
        ] {
            let d = to_drive(name);
            assert!(is_safe(&d), "{name:?} → {d:?} is not safe");
            assert_eq!(from_drive(&d), name, "{name:?} → {d:?}");
        }
        assert_eq!(to_drive("a:b.txt"), "a：b.txt");
        assert_eq!(to_drive("CON.txt"), "COＮ.txt");
        assert_eq!(to_drive("plain.pdf"), "plain.pdf");
    }

    #[test]
    fn a_name_the_user_typed_with_lookalikes_is_kept_verbatim() {
        // `：` alone could come from `:`, but to_drive(":") == "：" so it decodes; an escape
        // at the end cannot come from the encoder.
        assert_eq!(from_drive("x‛"), "x‛");
        assert_eq!(from_drive("report.pdf"), "report.pdf");
    }

    #[test]
    fn long_names_are_cut_keeping_the_extension_and_stay_distinct() {
        let a = format!("{}a.pdf", "x".repeat(300));
        let b = format!("{}b.pdf", "x".repeat(300));
        let (da, db) = (to_drive(&a), to_drive(&b));
        assert!(utf16_len(&da) <= NAME_MAX && da.ends_with(".pdf"));
        assert_ne!(da, db);
        let budget = name_budget(&format!("Odoo Sync/sale.order/42/{}", "d".repeat(300)));
        assert!(budget < 100);
        assert!(utf16_len(&fit(&da, &a, budget)) <= budget);
    }

    #[test]
    fn duplicates_get_a_deterministic_suffix_and_conflicts_a_dated_name() {
        let taken = |n: &str| ["a.pdf", "a (2).pdf"].contains(&n);
        assert_eq!(unique("A.pdf", &taken, NAME_MAX), "A (3).pdf");
        assert_eq!(unique("b.pdf", &taken, NAME_MAX), "b.pdf");
        let d = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        assert_eq!(
            conflict_name("plan.v2.xlsx", d),
            "plan.v2 (Odoo conflict 2026-11-23).xlsx"
        );
        assert_eq!(
            conflict_name("README", d),
            "README (Odoo conflict 2026-11-23)"
        );
    }

    proptest! {
        #[test]
        fn any_name_maps_to_a_safe_one_that_maps_back(name in "[ -~\u{FF01}-\u{FF5E}\u{2400}-\u{2420}\u{201B}\t é]{1,60}") {
            let d = to_drive(&name);
            prop_assert!(is_safe(&d), "{:?} → {:?}", name, d);
            prop_assert_eq!(from_drive(&d), name);
        }
    }
}
