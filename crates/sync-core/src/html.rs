//! A small HTML normaliser for event descriptions.
//!
//! Odoo sanitises `description` on write (Html field) and Outlook wraps bodies in
//! `<html><head>…</head><body>…</body></html>` with its own styles, classes and
//! `&nbsp;`s. Neither is a bug, but if the hash saw them, every write would come back as
//! a "change" and loop. So both sides' bodies are reduced to one canonical token stream:
//!
//! * dropped with their content: `<script>`, `<style>`, `<head>`, `<title>`, `<noscript>`,
//!   `<template>`, `<iframe>`, `<object>`, `<embed>`, `<svg>`, `<math>`, comments,
//!   `<!doctype>`, processing instructions and Office conditional comments;
//! * kept (lower-case): a small allow-list of structure tags; `div` is written `p`,
//!   `strong` `b` and `em` `i`, because Outlook and Odoo pick different ones for the same
//!   thing; every other tag (`span`, `font`, `o:p`, `html`, `body`, …) is dropped and its
//!   text kept;
//! * attributes: only `href` on `a` (http, https, mailto, tel), `src`/`alt` on `img`
//!   (http, https, cid, data:image) and `colspan`/`rowspan` on cells; event handlers,
//!   `style`, `class`, `id` and `javascript:` URLs are gone;
//! * text: entities decoded, white space (including no-break spaces) collapsed to one
//!   space and trimmed next to block tags; written back with only `&amp;`, `&lt;`, `&gt;`
//!   escaped (and `&quot;` in attributes); non-ASCII stays UTF-8.
//!
//! The output is not guaranteed well-formed (unbalanced input stays unbalanced) but it
//! is inert: no script, handler or unsafe URL survives. `<pre>` white space is collapsed
//! too: a deliberate loss, noted in the canonical model's docs. The normaliser is one
//! linear pass; it never panics on any input (a property test feeds it arbitrary text).

/// Tags dropped together with everything up to their closing tag.
const DROP_WITH_CONTENT: &[&str] = &[
    "script", "style", "head", "title", "noscript", "template", "iframe", "object", "embed", "svg",
    "math", "xml",
];

/// Tags kept (after renaming). Block tags also trim the white space next to them.
const BLOCK: &[&str] = &[
    "p",
    "br",
    "ul",
    "ol",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "pre",
    "table",
    "thead",
    "tbody",
    "tr",
    "td",
    "th",
    "hr",
];
const INLINE: &[&str] = &["b", "i", "u", "s", "a", "img", "code", "sub", "sup"];
const VOID: &[&str] = &["br", "hr", "img"];

#[derive(Debug, PartialEq)]
enum Token {
    Open(String, Vec<(String, String)>),
    Close(String),
    Text(String),
}

/// Normalises an HTML fragment or document to the canonical form described above.
pub fn normalize(input: &str) -> String {
    let tokens = tokenize(input);
    render(tokens)
}

/// Turns plain text (a Graph body with `contentType: text`) into canonical HTML.
pub fn from_text(text: &str) -> String {
    let escaped: Vec<String> = text
        .lines()
        .map(|line| escape_text(line.trim_end_matches('\r')))
        .collect();
    normalize(&escaped.join("<br>"))
}

/// The visible text of canonical HTML, for previews and for the side that only takes text.
pub fn to_text(html: &str) -> String {
    let mut out = String::new();
    for token in tokenize(html) {
        match token {
            Token::Text(t) => out.push_str(&t),
            Token::Open(name, _) | Token::Close(name)
                if BLOCK.contains(&name.as_str()) && !out.is_empty() && !out.ends_with('\n') =>
            {
                out.push('\n');
            }
            _ => {}
        }
    }
    out.trim().to_owned()
}

/// Splits canonical HTML into the user's description and the Teams join block Outlook
/// appends to the body of an online meeting (a line of underscores, "Microsoft Teams
/// meeting", the join link and dial-in details, in newer versions closed by a second
/// line of underscores). Graph adds the block on its own, so it is not part of what the
/// user wrote: left in, it would be copied to Odoo's description as an "edit" right
/// after every Teams meeting the sync creates. The block is recognised by an
/// underscore-only text (20 or more) followed by text naming "Microsoft Teams" or a
/// `teams.microsoft.com` link. Returns `(description, Some(block))`, both canonical, or
/// the input and `None`.
pub fn split_teams_block(html: &str) -> (String, Option<String>) {
    let tokens = tokenize(html);
    let rule = |t: &Token| match t {
        Token::Text(s) => {
            let s = s.trim();
            s.len() >= 20 && s.chars().all(|c| c == '_')
        }
        _ => false,
    };
    let teams_after = |from: usize| {
        tokens[from..].iter().any(|t| match t {
            Token::Text(s) => s.to_lowercase().contains("microsoft teams"),
            Token::Open(_, attrs) => attrs
                .iter()
                .any(|(k, v)| k == "href" && v.to_lowercase().contains("teams.microsoft.com")),
            Token::Close(_) => false,
        })
    };
    let Some(first) = (0..tokens.len()).find(|&i| rule(&tokens[i]) && teams_after(i + 1)) else {
        return (html.to_owned(), None);
    };
    // Take the block's opening tags along, and up to a closing rule with its closing tags.
    let mut start = first;
    while start > 0 && matches!(tokens[start - 1], Token::Open(..)) {
        start -= 1;
    }
    let mut end = match (first + 1..tokens.len()).find(|&i| rule(&tokens[i])) {
        Some(j) => j + 1,
        None => tokens.len(),
    };
    while end < tokens.len() && matches!(tokens[end], Token::Close(_)) {
        end += 1;
    }
    let mut tokens = tokens;
    let block: Vec<Token> = tokens.drain(start..end).collect();
    (render(tokens), Some(render(block)))
}

fn tokenize(input: &str) -> Vec<Token> {
    // ASCII lower-casing keeps byte offsets, so searches on `lower` index `input`.
    let lower = input.to_ascii_lowercase();
    let bytes = input.as_bytes();
    let mut tokens = Vec::new();
    let mut text_start = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'<' {
            i += 1;
            continue;
        }
        let rest = &lower[i..];
        let next = bytes.get(i + 1).copied().unwrap_or(b' ');
        let is_tag = next.is_ascii_alphabetic() || next == b'/' || next == b'!' || next == b'?';
        if !is_tag {
            i += 1;
            continue;
        }
        push_text(&mut tokens, &input[text_start..i]);
        if rest.starts_with("<!--") {
            i = find_from(&lower, i + 4, "-->").map_or(bytes.len(), |e| e + 3);
        } else if next == b'!' || next == b'?' {
            i = find_from(&lower, i, ">").map_or(bytes.len(), |e| e + 1);
        } else {
            let (end, closing, name, attrs) = parse_tag(input, i);
            i = end;
            if DROP_WITH_CONTENT.contains(&name.as_str()) {
                if !closing {
                    let close = format!("</{name}");
                    i = find_from(&lower, i, &close)
                        .and_then(|c| find_from(&lower, c, ">"))
                        .map_or(bytes.len(), |e| e + 1);
                }
            } else if let Some(kept) = keep_as(&name) {
                if closing {
                    if !VOID.contains(&kept) {
                        tokens.push(Token::Close(kept.to_owned()));
                    }
                } else {
                    tokens.push(Token::Open(kept.to_owned(), keep_attrs(kept, attrs)));
                }
            }
        }
        text_start = i;
    }
    push_text(&mut tokens, &input[text_start.min(input.len())..]);
    tokens
}

fn find_from(haystack: &str, from: usize, needle: &str) -> Option<usize> {
    haystack.get(from..)?.find(needle).map(|p| p + from)
}

/// Parses the tag starting at `start` (a `<`). Returns the index after it, whether it is
/// a closing tag, its lower-case name and its attributes (lower-case names, decoded values).
fn parse_tag(input: &str, start: usize) -> (usize, bool, String, Vec<(String, String)>) {
    let bytes = input.as_bytes();
    let mut i = start + 1;
    let closing = bytes.get(i) == Some(&b'/');
    if closing {
        i += 1;
    }
    let name_start = i;
    while i < bytes.len() && !bytes[i].is_ascii_whitespace() && bytes[i] != b'>' && bytes[i] != b'/'
    {
        i += 1;
    }
    let name = input[name_start..i].to_ascii_lowercase();
    let mut attrs = Vec::new();
    loop {
        while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b'/') {
            i += 1;
        }
        if i >= bytes.len() {
            break;
        }
        if bytes[i] == b'>' {
            i += 1;
            break;
        }
        let an_start = i;
        while i < bytes.len()
            && !bytes[i].is_ascii_whitespace()
            && bytes[i] != b'='
            && bytes[i] != b'>'
            && !(bytes[i] == b'/' && i > an_start)
        {
            i += 1;
        }
        let attr_name = input[an_start..i].to_ascii_lowercase();
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value = String::new();
        if bytes.get(i) == Some(&b'=') {
            i += 1;
            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            match bytes.get(i) {
                Some(&q) if q == b'"' || q == b'\'' => {
                    let v_start = i + 1;
                    let v_end = input[v_start..]
                        .find(q as char)
                        .map_or(bytes.len(), |p| p + v_start);
                    value = decode_entities(&input[v_start..v_end]);
                    i = (v_end + 1).min(bytes.len());
                }
                _ => {
                    let v_start = i;
                    while i < bytes.len() && !bytes[i].is_ascii_whitespace() && bytes[i] != b'>' {
                        i += 1;
                    }
                    value = decode_entities(&input[v_start..i]);
                }
            }
        }
        if !attr_name.is_empty() {
            attrs.push((attr_name, value));
        }
    }
    (i, closing, name, attrs)
}

fn keep_as(name: &str) -> Option<&'static str> {
    let renamed = match name {
        "div" => "p",
        "strong" => "b",
        "em" => "i",
        "strike" | "del" => "s",
        "ins" => "u",
        other => other,
    };
    BLOCK
        .iter()
        .chain(INLINE.iter())
        .find(|t| **t == renamed)
        .copied()
}

fn keep_attrs(tag: &str, attrs: Vec<(String, String)>) -> Vec<(String, String)> {
    let mut kept: Vec<(String, String)> = attrs
        .into_iter()
        .filter(|(name, value)| match (tag, name.as_str()) {
            ("a", "href") => safe_url(value, &["http:", "https:", "mailto:", "tel:"]),
            ("img", "src") => safe_url(value, &["http:", "https:", "cid:", "data:image/"]),
            ("img", "alt") => true,
            ("td" | "th", "colspan" | "rowspan") => value.chars().all(|c| c.is_ascii_digit()),
            _ => false,
        })
        .map(|(n, v)| (n, v.trim().to_owned()))
        .collect();
    kept.sort();
    kept.dedup_by(|a, b| a.0 == b.0);
    kept
}

fn safe_url(value: &str, schemes: &[&str]) -> bool {
    // Browsers ignore control characters and white space inside a scheme, so
    // `jav&#x09;ascript:` must not slip past as a relative URL.
    let squeezed: String = value
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .collect::<String>()
        .to_ascii_lowercase();
    schemes.iter().any(|s| squeezed.starts_with(s))
}

fn push_text(tokens: &mut Vec<Token>, raw: &str) {
    if raw.is_empty() {
        return;
    }
    let text = decode_entities(raw);
    if let Some(Token::Text(prev)) = tokens.last_mut() {
        prev.push_str(&text);
    } else {
        tokens.push(Token::Text(text));
    }
}

fn render(tokens: Vec<Token>) -> String {
    // Merge adjacent texts (dropped tags leave them split), collapse white space, then
    // trim white space that touches a block tag or either end.
    let mut merged: Vec<Token> = Vec::new();
    for t in tokens {
        match (merged.last_mut(), t) {
            (Some(Token::Text(prev)), Token::Text(t)) => prev.push_str(&t),
            (_, t) => merged.push(t),
        }
    }
    let is_block = |t: Option<&Token>| match t {
        None => true,
        Some(Token::Open(n, _)) | Some(Token::Close(n)) => BLOCK.contains(&n.as_str()),
        Some(Token::Text(_)) => false,
    };
    let mut out = String::new();
    let mut has_content = false;
    for (i, t) in merged.iter().enumerate() {
        match t {
            Token::Text(text) => {
                let mut collapsed = collapse_ws(text);
                if is_block(if i == 0 { None } else { merged.get(i - 1) }) {
                    collapsed = collapsed.trim_start().to_owned();
                }
                if is_block(merged.get(i + 1)) {
                    collapsed = collapsed.trim_end().to_owned();
                }
                if !collapsed.trim().is_empty() {
                    has_content = true;
                }
                out.push_str(&escape_text(&collapsed));
            }
            Token::Open(name, attrs) => {
                if name == "img" {
                    has_content = true;
                }
                out.push('<');
                out.push_str(name);
                for (n, v) in attrs {
                    out.push(' ');
                    out.push_str(n);
                    out.push_str("=\"");
                    out.push_str(&escape_attr(v));
                    out.push('"');
                }
                out.push('>');
            }
            Token::Close(name) => {
                out.push_str("</");
                out.push_str(name);
                out.push('>');
            }
        }
    }
    if has_content {
        out
    } else {
        String::new()
    }
}

fn collapse_ws(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_ws = false;
    for c in text.chars() {
        if c.is_whitespace() || c == '\u{a0}' || c == '\u{200b}' || c == '\u{feff}' {
            if !in_ws {
                out.push(' ');
            }
            in_ws = true;
        } else {
            out.push(c);
            in_ws = false;
        }
    }
    out
}

fn escape_text(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn escape_attr(text: &str) -> String {
    escape_text(text).replace('"', "&quot;")
}

fn decode_entities(text: &str) -> String {
    if !text.contains('&') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let end = rest
            .char_indices()
            .take(12)
            .find(|(_, c)| *c == ';')
            .map(|(i, _)| i);
        let decoded = end.and_then(|e| decode_entity(&rest[1..e]).map(|c| (c, e)));
        match decoded {
            Some((c, e)) => {
                out.push(c);
                rest = &rest[e + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn decode_entity(name: &str) -> Option<char> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse::<u32>().ok()?,
        };
        return char::from_u32(code).filter(|c| *c != '\0');
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => '\u{a0}',
        "copy" => '©',
        "reg" => '®',
        "hellip" => '…',
        "mdash" => '—',
        "ndash" => '–',
        "lsquo" => '‘',
        "rsquo" => '’',
        "ldquo" => '“',
        "rdquo" => '”',
        "euro" => '€',
        "bull" => '•',
        "middot" => '·',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_teams_block_outlook_appends_is_split_from_the_users_text() {
        // As Outlook writes it (styles trimmed), closed by a second rule.
        let outlook = "<html><body><div>Agenda: budget</div>\
            <div style=\"width:100%\"><span style=\"white-space:nowrap;color:#5F5F5F\">\
            ________________________________________________________________________________</span></div>\
            <div class=\"me-email-text\"><span style=\"font-size:24px\">Microsoft Teams meeting</span>\
            <div><a href=\"https://teams.microsoft.com/l/meetup-join/19%3a1\">Join the meeting now</a></div>\
            <div>Meeting ID: 123 456 789</div></div>\
            <div>________________________________________________________________________________</div>\
            <p>Notes after the block</p></body></html>";
        let (text, block) = split_teams_block(&normalize(outlook));
        assert_eq!(text, "<p>Agenda: budget</p><p>Notes after the block</p>");
        let block = block.unwrap();
        assert!(
            block.contains("teams.microsoft.com/l/meetup-join"),
            "{block}"
        );
        assert_eq!(normalize(&text), text, "canonical");
        // As the emulator writes it: no closing rule, the block runs to the end.
        let emulator = "<p>Hi</p><div>____________________________________________</div>\
            <div><b>Microsoft Teams meeting</b></div><div><a href=\"https://teams.microsoft.com/l/x\">Join</a></div>";
        assert_eq!(split_teams_block(&normalize(emulator)).0, "<p>Hi</p>");
        // Only a body with nothing but the block leaves an empty description.
        let only = "<div>____________________________________________</div><div>Microsoft Teams meeting</div>";
        assert_eq!(split_teams_block(&normalize(only)).0, "");
        // A rule the user typed, with no Teams block after it, stays.
        let mine = "<p>Part one</p><p>______________________________</p><p>Part two</p>";
        assert_eq!(split_teams_block(&normalize(mine)), (normalize(mine), None));
    }

    #[test]
    fn an_outlook_body_and_the_odoo_sanitised_body_normalise_to_the_same_text() {
        let outlook = "<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\">\
            <style>p.MsoNormal{margin:0}</style></head><body>\
            <div class=\"WordSection1\" style=\"font-family:Calibri\"><span lang=\"EN\">Agenda:&nbsp; review</span></div>\
            <div><strong>Bring</strong> the <a href=\"https://example.com/x?a=1&amp;b=2\" target=\"_blank\">plan</a></div>\
            <!-- generated --></body></html>";
        let odoo = "<p>Agenda:  review</p>\n<p><b>Bring</b> the <a href=\"https://example.com/x?a=1&amp;b=2\">plan</a></p>";
        assert_eq!(normalize(outlook), normalize(odoo));
        assert_eq!(
            normalize(odoo),
            "<p>Agenda: review</p><p><b>Bring</b> the <a href=\"https://example.com/x?a=1&amp;b=2\">plan</a></p>"
        );
    }

    #[test]
    fn scripts_styles_handlers_and_javascript_urls_are_removed() {
        let hostile =
            "<p onclick=\"steal()\">Hi<script>alert(1)</script><SCRIPT type=x>alert(2)</ScRiPt>\
            <img src=x onerror=alert(3)><a href=\" jav&#x09;ascript:alert(4)\">x</a>\
            <style>*{}</style><iframe src=\"https://evil\"></iframe></p>";
        let clean = normalize(hostile);
        assert_eq!(clean, "<p>Hi<img><a>x</a></p>");
        for bad in [
            "script",
            "alert",
            "onclick",
            "onerror",
            "javascript",
            "iframe",
            "style",
        ] {
            assert!(
                !clean.to_ascii_lowercase().contains(bad),
                "{bad} in {clean}"
            );
        }
    }

    #[test]
    fn an_unclosed_script_swallows_the_rest_instead_of_leaking_it() {
        assert_eq!(
            normalize("<p>ok</p><script>never closed <p>x</p>"),
            "<p>ok</p>"
        );
        assert_eq!(normalize("<p>a</p><!-- open comment <b>x</b>"), "<p>a</p>");
    }

    #[test]
    fn entities_are_canonical_and_unicode_stays_utf8() {
        assert_eq!(
            normalize("Caf&eacute; &amp; Th&#233; &#x1F600; 日本語 &lt;tag&gt;"),
            "Caf&amp;eacute; &amp; Thé 😀 日本語 &lt;tag&gt;"
        );
        assert_eq!(normalize("Thé"), normalize("Th&#xE9;"));
    }

    #[test]
    fn empty_bodies_in_either_style_are_the_empty_string() {
        assert_eq!(normalize("<p><br></p>"), "");
        assert_eq!(
            normalize("<html><head></head><body>&nbsp;</body></html>"),
            ""
        );
        assert_eq!(normalize(""), "");
        assert_ne!(normalize("<img src=\"cid:logo\">"), "");
    }

    #[test]
    fn plain_text_bodies_become_html_lines() {
        assert_eq!(from_text("line 1\r\nline <2>"), "line 1<br>line &lt;2&gt;");
        assert_eq!(to_text("<p>a</p><p>b &amp; c</p>"), "a\nb & c");
    }

    #[test]
    fn a_long_body_is_normalised_in_one_pass() {
        let long = "<div style=\"x\">word&nbsp;word</div>".repeat(20_000);
        let out = normalize(&long);
        assert_eq!(out.len(), "<p>word word</p>".len() * 20_000);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn normalising_never_panics_and_is_idempotent(s in "(<[a-z/!]{0,3}|[a-z ]{0,4}|&[#a-z0-9]{0,4};?|\"|'|=|>|<script>|</script>|<!--|-->|\u{e9})*") {
            let once = normalize(&s);
            prop_assert_eq!(normalize(&once), once.clone());
            prop_assert!(!once.contains("<script"));
        }
    }
}
