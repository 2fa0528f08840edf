//! `ir.attachment` (content, checksum, mimetype, access through the linked record) and the
//! chatter (`mail.message`, `message_post`) (spec §4, §5.1).

use base64::Engine as _;
use serde_json::{json, Map, Value};
use sha1::{Digest, Sha1};

use super::error::OdooError;
use super::models::Model;
use super::orm::{
    self, check_access, rule_allows, str_of, truthy, Db, Env, Mode, OResult, Row, Tx,
};

/// Seeded `mail.message.subtype` ids.
pub const SUBTYPE_COMMENT: i64 = 1;
pub const SUBTYPE_NOTE: i64 = 2;
pub const SUBTYPE_INVITATION: i64 = 3;
/// Seeded `mail.activity.type` "Meeting".
pub const ACTIVITY_MEETING: i64 = 3;

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

/// Record rule of attachments: public ones are readable; linked ones follow the record
/// (read needs read, anything else needs write); unlinked ones belong to their creator.
pub fn attachment_allows(db: &Db, env: &Env, row: &Row, mode: Mode) -> bool {
    if mode == Mode::Read && truthy(row.get("public")) {
        return true;
    }
    // 17/18 `check()` first requires an internal user.
    if db.is_portal(env.uid) {
        return false;
    }
    let res_model = row.get("res_model").and_then(Value::as_str);
    let res_id = row
        .get("res_id")
        .and_then(Value::as_i64)
        .filter(|i| *i != 0);
    match (res_model, res_id) {
        (Some(model), Some(id)) => {
            let Some(m) = db.registry.get(model) else {
                return false; // linked model no longer exists
            };
            let need = if mode == Mode::Read {
                Mode::Read
            } else {
                Mode::Write
            };
            if check_access(db, env, m, need).is_err() {
                return false;
            }
            match db.row(model, id) {
                Some(r) => rule_allows(db, env, m, r, need),
                None => true,
            }
        }
        _ => {
            row.get("create_uid").and_then(Value::as_i64) == Some(env.uid) || db.is_system(env.uid)
        }
    }
}

fn guess_from_name(name: &str) -> Option<&'static str> {
    let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "bmp" => "image/bmp",
        "tif" | "tiff" => "image/tiff",
        "txt" => "text/plain",
        "csv" => "text/csv",
        "md" => "text/markdown",
        "html" | "htm" => "text/html",
        "xml" => "text/xml",
        "svg" => "image/svg+xml",
        "json" => "application/json",
        "ics" => "text/calendar",
        "eml" => "message/rfc822",
        "zip" => "application/zip",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xls" => "application/vnd.ms-excel",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "ppt" => "application/vnd.ms-powerpoint",
        "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "odt" => "application/vnd.oasis.opendocument.text",
        "ods" => "application/vnd.oasis.opendocument.spreadsheet",
        _ => return None,
    })
}

fn sniff(raw: &[u8]) -> Option<&'static str> {
    Some(if raw.starts_with(b"%PDF") {
        "application/pdf"
    } else if raw.starts_with(b"\x89PNG\r\n\x1a\n") {
        "image/png"
    } else if raw.starts_with(b"\xff\xd8\xff") {
        "image/jpeg"
    } else if raw.starts_with(b"GIF8") {
        "image/gif"
    } else if raw.starts_with(b"PK\x03\x04") {
        "application/zip"
    } else if raw.starts_with(b"<svg")
        || (raw.starts_with(b"<?xml") && raw.windows(4).any(|w| w == b"<svg"))
    {
        "image/svg+xml"
    } else {
        return None;
    })
}

/// `_compute_mimetype`: given > name extension > url > sniff > octet-stream, lower-cased.
pub fn mimetype(given: Option<&str>, name: Option<&str>, url: Option<&str>, raw: &[u8]) -> String {
    let mut m = given
        .filter(|g| !g.is_empty())
        .map(str::to_string)
        .or_else(|| name.and_then(guess_from_name).map(str::to_string))
        .or_else(|| {
            url.and_then(|u| guess_from_name(u.split('?').next().unwrap_or(u)))
                .map(str::to_string)
        });
    if m.as_deref().is_none_or(|x| x == "application/octet-stream") {
        if let Some(s) = sniff(raw) {
            m = Some(s.to_string());
        }
    }
    m.unwrap_or_else(|| "application/octet-stream".into())
        .to_ascii_lowercase()
}

fn is_xml_like(mt: &str) -> bool {
    (mt.contains("ht") || mt.contains("xml") || mt.contains("svg"))
        && !mt.contains("openxmlformats")
}

/// Fills content-derived fields from `datas` or `raw`.
fn set_content(db: &Db, env: &Env, row: &mut Row, vals: &Map<String, Value>) -> OResult<()> {
    let raw: Option<Vec<u8>> = if let Some(v) = vals
        .get("raw")
        .filter(|v| !v.is_null() && **v != json!(false))
    {
        Some(v.as_str().unwrap_or_default().as_bytes().to_vec())
    } else if let Some(v) = vals.get("datas") {
        match v {
            Value::String(s) => Some(b64().decode(s.trim()).map_err(|e| OdooError::Python {
                class: "binascii.Error",
                message: e.to_string(),
            })?),
            _ => Some(Vec::new()),
        }
    } else {
        None
    };
    let mut raw = raw;
    let raw_bytes = raw.clone().unwrap_or_default();
    if vals.contains_key("mimetype")
        || vals.contains_key("datas")
        || vals.contains_key("raw")
        || !row.contains_key("mimetype")
    {
        let mut mt = mimetype(
            vals.get("mimetype").and_then(Value::as_str),
            row.get("name").and_then(Value::as_str),
            row.get("url").and_then(Value::as_str),
            &raw_bytes,
        );
        // XML-like content is served as text unless the user may edit views (admin).
        if is_xml_like(&mt) && !(env.su || db.is_system(env.uid)) {
            mt = "text/plain".into();
        }
        if mt.starts_with("text/") {
            let text = String::from_utf8_lossy(&raw_bytes);
            row.insert(
                "index_content".into(),
                json!(text.chars().take(10_000).collect::<String>()),
            );
        }
        row.insert("mimetype".into(), json!(mt));
    }
    // Large images are scaled down on upload, so the stored checksum differs from the
    // SHA-1 of what was sent.
    if let (Some(r), Some(mt)) = (raw.as_mut(), row.get("mimetype").and_then(Value::as_str)) {
        if !env.ctx_true("image_no_postprocess") {
            if let Some(scaled) = postprocess_image(db, mt, r) {
                *r = scaled;
            }
        }
    }
    if let Some(raw) = &raw {
        row.insert("datas".into(), json!(b64().encode(raw)));
        let sha = hex_sha1(raw);
        row.insert("file_size".into(), json!(raw.len()));
        row.insert(
            "store_fname".into(),
            json!(format!("{}/{}", &sha[..2], sha)),
        );
        row.insert("checksum".into(), json!(sha));
    }
    Ok(())
}

/// `_postprocess_contents`: PNG and JPEG images larger than
/// `base.image_autoresize_max_px` (default 1920x1920) are scaled to fit, JPEG at
/// `base.image_autoresize_quality` (default 80). Undecodable images are left alone, as Odoo
/// logs and ignores the error.
fn postprocess_image(db: &Db, mimetype: &str, raw: &[u8]) -> Option<Vec<u8>> {
    let format = match mimetype {
        "image/png" => image::ImageFormat::Png,
        "image/jpeg" => image::ImageFormat::Jpeg,
        _ => return None,
    };
    let (max_w, max_h) = db
        .params
        .get("base.image_autoresize_max_px")
        .and_then(|v| v.split_once('x'))
        .and_then(|(w, h)| Some((w.trim().parse::<u32>().ok()?, h.trim().parse::<u32>().ok()?)))
        .unwrap_or((1920, 1920));
    if max_w == 0 || max_h == 0 {
        return None; // "0" switches resizing off
    }
    let img = image::load_from_memory_with_format(raw, format).ok()?;
    if img.width() <= max_w && img.height() <= max_h {
        return None;
    }
    let scaled = img.resize(max_w, max_h, image::imageops::FilterType::Triangle);
    let mut out = std::io::Cursor::new(Vec::new());
    match format {
        image::ImageFormat::Jpeg => {
            let quality = db
                .params
                .get("base.image_autoresize_quality")
                .and_then(|q| q.trim().parse::<u8>().ok())
                .unwrap_or(80)
                .clamp(1, 100);
            let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality);
            scaled.to_rgb8().write_with_encoder(encoder).ok()?;
        }
        _ => scaled.write_to(&mut out, format).ok()?,
    }
    Some(out.into_inner())
}

pub fn hex_sha1(raw: &[u8]) -> String {
    let digest = Sha1::digest(raw);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn prepare_create(
    tx: &mut Tx<'_>,
    env: &Env,
    m: &Model,
    row: &mut Row,
    vals: &Map<String, Value>,
) -> OResult<()> {
    if m.name != "ir.attachment" {
        return Ok(());
    }
    // Computed values a client sends are dropped and recomputed.
    for f in ["file_size", "checksum", "store_fname", "index_content"] {
        row.remove(f);
    }
    row.entry("type".into()).or_insert(json!("binary"));
    row.entry("public".into()).or_insert(json!(false));
    row.entry("res_field".into()).or_insert(Value::Null);
    if !vals.contains_key("datas") && !vals.contains_key("raw") {
        let mut v = vals.clone();
        v.insert("raw".into(), json!(""));
        set_content(tx.db, env, row, &v)?;
    } else {
        set_content(tx.db, env, row, vals)?;
    }
    Ok(())
}

pub fn prepare_write(
    tx: &mut Tx<'_>,
    env: &Env,
    m: &Model,
    id: i64,
    changes: &mut Row,
    vals: &Map<String, Value>,
) -> OResult<()> {
    if m.name != "ir.attachment" {
        return Ok(());
    }
    for f in ["file_size", "checksum", "store_fname", "index_content"] {
        changes.remove(f);
    }
    let mut merged = tx.row(m.name, id).cloned().unwrap_or_default();
    merged.extend(changes.clone());
    if vals.contains_key("datas") || vals.contains_key("raw") || vals.contains_key("mimetype") {
        let mut v = vals.clone();
        if !v.contains_key("datas") && !v.contains_key("raw") {
            v.insert(
                "datas".into(),
                merged.get("datas").cloned().unwrap_or(json!("")),
            );
        }
        set_content(tx.db, env, &mut merged, &v)?;
        for f in [
            "datas",
            "file_size",
            "checksum",
            "store_fname",
            "mimetype",
            "index_content",
        ] {
            if let Some(x) = merged.get(f) {
                changes.insert(f.into(), x.clone());
            }
        }
    }
    if (vals.contains_key("res_model") || vals.contains_key("res_id"))
        && !attachment_allows(tx.db, env, &merged, Mode::Write)
    {
        return Err(OdooError::Access(format!(
            "You are not allowed to modify the record the attachment is being moved to ({}).",
            str_of(&merged, "res_model").unwrap_or_default()
        )));
    }
    Ok(())
}

/// Non-stored attachment fields.
pub fn compute(db: &Db, m: &Model, row: &Row, field: &str) -> Option<Value> {
    match (m.name, field) {
        ("ir.attachment", "res_name") => {
            let model = row.get("res_model").and_then(Value::as_str)?;
            let id = row.get("res_id").and_then(Value::as_i64)?;
            let lm = db.registry.get(model)?;
            let r = db.row(model, id)?;
            Some(json!(orm::display_name(db, lm, r)))
        }
        ("ir.attachment", "raw") => {
            let d = row.get("datas").and_then(Value::as_str)?;
            let bytes = b64().decode(d).ok()?;
            Some(json!(String::from_utf8_lossy(&bytes)))
        }
        _ => None,
    }
}

/// The bytes of an attachment.
pub fn content(row: &Row) -> Vec<u8> {
    row.get("datas")
        .and_then(Value::as_str)
        .and_then(|d| b64().decode(d).ok())
        .unwrap_or_default()
}

/// `generate_access_token()`: stores a token on each attachment that lacks one.
pub fn generate_access_token(tx: &mut Tx<'_>, ids: &[i64]) -> Value {
    let mut tokens = Vec::new();
    for &id in ids {
        let existing = tx
            .row("ir.attachment", id)
            .and_then(|r| str_of(r, "access_token"));
        let token = match existing {
            Some(t) if !t.is_empty() => t,
            _ => {
                let t = uuid::Uuid::new_v4().to_string();
                let mut ch = Row::new();
                ch.insert("access_token".into(), json!(t.clone()));
                tx.update("ir.attachment", id, ch);
                t
            }
        };
        tokens.push(json!(token));
    }
    Value::Array(tokens)
}

/// Inserts a `mail.message` on a record without touching the record itself.
#[allow(clippy::too_many_arguments)]
pub fn insert_message(
    tx: &mut Tx<'_>,
    env: &Env,
    model: &str,
    res_id: i64,
    body: String,
    message_type: &str,
    subtype: i64,
    author: Option<i64>,
) -> i64 {
    let record_name = tx.db.registry.get(model).and_then(|m| {
        tx.row(model, res_id)
            .map(|r| orm::display_name(tx.db, m, r))
    });
    let now = tx.now_stored();
    let mut row = Row::new();
    row.insert("model".into(), json!(model));
    row.insert("res_id".into(), json!(res_id));
    row.insert("record_name".into(), json!(record_name));
    row.insert("body".into(), json!(body));
    row.insert("message_type".into(), json!(message_type));
    row.insert("subtype_id".into(), json!(subtype));
    row.insert(
        "author_id".into(),
        json!(author.or_else(|| tx.db.user_partner(env.uid))),
    );
    row.insert("partner_ids".into(), json!([]));
    row.insert("attachment_ids".into(), json!([]));
    row.insert("date".into(), json!(orm::fmt_dt(tx.now)));
    row.insert("create_date".into(), json!(now.clone()));
    row.insert("write_date".into(), json!(now));
    row.insert("create_uid".into(), json!(env.uid));
    row.insert("write_uid".into(), json!(env.uid));
    tx.insert("mail.message", row)
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
}

/// The partners following a record: its attendees or partner, its salesperson's partner and
/// its creator's partner.
fn followers(db: &Db, model: &str, row: &Row) -> Vec<i64> {
    let mut out = orm::ids_of(row.get("partner_ids"));
    if model != "calendar.event" {
        if let Some(p) = row.get("partner_id").and_then(Value::as_i64) {
            out.push(p);
        }
    }
    for f in ["user_id", "invoice_user_id", "create_uid"] {
        if let Some(p) = row
            .get(f)
            .and_then(Value::as_i64)
            .and_then(|u| db.user_partner(u))
        {
            out.push(p);
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

const MESSAGE_POST_PARAMS: [&str; 10] = [
    "body",
    "subject",
    "message_type",
    "subtype_xmlid",
    "subtype_id",
    "partner_ids",
    "attachment_ids",
    "body_is_html",
    "author_id",
    "email_from",
];

/// `message_post(...)` on one record of a mail.thread model; returns the message id.
pub fn message_post(
    tx: &mut Tx<'_>,
    env: &Env,
    m: &Model,
    ids: &[i64],
    kw: &Map<String, Value>,
) -> OResult<i64> {
    if ids.len() != 1 {
        let list: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
        return Err(OdooError::value_error(format!(
            "Expected singleton: {}({})",
            m.name,
            if list.len() == 1 {
                format!("{},", list[0])
            } else {
                list.join(", ")
            }
        )));
    }
    let version = tx.db.version.clone();
    for k in kw.keys() {
        let known = MESSAGE_POST_PARAMS.contains(&k.as_str())
            && (k != "body_is_html" || version.has_body_is_html());
        if !known {
            // Extra keyword arguments become mail.message values in Odoo.
            return Err(OdooError::value_error(format!(
                "Invalid field '{k}' on model 'mail.message'"
            )));
        }
    }
    let id = ids[0];
    // Posting needs write access on the record (`_mail_post_access`).
    orm::check_records(tx.db, env, m, ids, Mode::Write)?;
    let body = kw.get("body").and_then(Value::as_str).unwrap_or("");
    let body = if !version.has_body_is_html() || truthy(kw.get("body_is_html")) {
        orm::sanitize_html(body)
    } else {
        // From 16.3/17 a plain str body is escaped (only Markup is HTML).
        escape_html(body)
    };
    let message_type = kw
        .get("message_type")
        .and_then(Value::as_str)
        .unwrap_or("notification");
    let subtype = match (
        kw.get("subtype_xmlid").and_then(Value::as_str),
        kw.get("subtype_id").and_then(Value::as_i64),
    ) {
        (Some("mail.mt_comment"), _) => SUBTYPE_COMMENT,
        (Some("mail.mt_note"), _) => SUBTYPE_NOTE,
        (Some("calendar.subtype_invitation"), _) => SUBTYPE_INVITATION,
        (Some(other), _) => {
            return Err(OdooError::value_error(format!(
                "External ID not found in the system: {other}"
            )))
        }
        (None, Some(s)) => s,
        (None, None) => SUBTYPE_NOTE,
    };
    let author = kw.get("author_id").and_then(Value::as_i64);
    let mid = insert_message(tx, env, m.name, id, body, message_type, subtype, author);
    let partner_ids = orm::ids_of(kw.get("partner_ids"));
    let attachment_ids = orm::ids_of(kw.get("attachment_ids"));
    let mut ch = Row::new();
    ch.insert("partner_ids".into(), json!(partner_ids.clone()));
    ch.insert("attachment_ids".into(), json!(attachment_ids.clone()));
    if let Some(s) = kw.get("subject") {
        ch.insert("subject".into(), s.clone());
    }
    tx.update("mail.message", mid, ch);
    // Attachments posted with the message are linked to the record.
    for a in attachment_ids {
        let unlinked = tx
            .row("ir.attachment", a)
            .is_some_and(|r| r.get("res_id").and_then(Value::as_i64).unwrap_or(0) == 0);
        if unlinked {
            let mut ch = Row::new();
            ch.insert("res_model".into(), json!(m.name));
            ch.insert("res_id".into(), json!(id));
            tx.update("ir.attachment", a, ch);
        }
    }
    // Notifications: followers for a discussion, only named partners for a note.
    let row = tx.row(m.name, id).cloned().unwrap_or_default();
    let mut to: Vec<i64> = if subtype == SUBTYPE_COMMENT {
        followers(tx.db, m.name, &row)
    } else {
        Vec::new()
    };
    to.extend(partner_ids);
    to.sort_unstable();
    to.dedup();
    let me = author.or_else(|| tx.db.user_partner(env.uid));
    let emails: Vec<String> = to
        .into_iter()
        .filter(|p| Some(*p) != me)
        .filter_map(|p| tx.row("res.partner", p).and_then(|r| str_of(r, "email")))
        .filter(|e| !e.is_empty())
        .collect();
    let name = orm::display_name(tx.db, m, &row);
    if !env.ctx_true("mail_notify_force_send_none") {
        tx.mail(
            "chatter",
            m.name,
            id,
            format!("Re: {name}"),
            emails,
            env.uid,
        );
    }
    Ok(mid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mimetype_precedence_is_given_then_name_then_url_then_sniff() {
        assert_eq!(
            mimetype(Some("Application/PDF"), Some("a.png"), None, b""),
            "application/pdf"
        );
        assert_eq!(mimetype(None, Some("a.png"), None, b"%PDF"), "image/png");
        assert_eq!(
            mimetype(None, Some("noext"), Some("https://x/y.pdf?z=1"), b""),
            "application/pdf"
        );
        assert_eq!(
            mimetype(None, Some("noext"), None, b"%PDF-1.7"),
            "application/pdf"
        );
        assert_eq!(
            mimetype(
                Some("application/octet-stream"),
                None,
                None,
                b"\x89PNG\r\n\x1a\n"
            ),
            "image/png"
        );
        assert_eq!(
            mimetype(None, Some("blob"), None, b"??"),
            "application/octet-stream"
        );
    }

    #[test]
    fn sha1_checksums_are_lower_hex_even_for_empty_files() {
        assert_eq!(hex_sha1(b""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(hex_sha1(b"abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
    }

    #[test]
    fn only_real_xml_types_count_as_xml_like() {
        assert!(is_xml_like("text/html"));
        assert!(is_xml_like("image/svg+xml"));
        assert!(!is_xml_like(
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        ));
        assert!(!is_xml_like("application/pdf"));
    }
}
