//! Attachment content (odoo.md §4.3, §4.4, client must-have 9).
//!
//! Memory bounds, per transport:
//! - Upload: the only way in through the external API is base64 `datas` inside a JSON body,
//!   so one upload holds the file, its base64 text and the body at once (about 2.7× the
//!   file). Uploads above [`OdooConfig::upload_len_max`] (64 MiB by default, under Odoo's
//!   128 MiB body limit with the base64 third) are refused before anything is sent.
//! - Download through `datas` ([`OdooClient::attachment_content`]): one attachment per call,
//!   so memory is bounded by the largest file, never by a batch.
//! - Download by streaming ([`OdooClient::attachment_download`]): `/web/content/<id>` with
//!   an access token, in chunks, into any `AsyncWrite`: memory stays at one chunk. It costs
//!   a persistent `access_token` on the attachment (anyone holding it can download the
//!   file), so it is opt-in.
//!
//! Every path checks the content against Odoo's SHA-1 `checksum`; an upload re-reads
//! `checksum`, `mimetype` and `file_size`, since Odoo may resize images or change the type.

use base64::Engine as _;
use bytes::Bytes;
use serde_json::{json, Map, Value};
use sha1::{Digest, Sha1};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::client::{join, send_error, OdooClient};
use crate::error::OdooError;
use crate::records::{Attachment, Record};
use crate::values::decode;
use crate::wire::{self, Call, WriteOrigin};

/// A file to attach to a record.
#[derive(Debug, Clone)]
pub struct AttachmentUpload {
    pub name: String,
    pub res_model: String,
    pub res_id: i64,
    /// Sent explicitly so Odoo does not guess; Odoo may still coerce it (e.g. XML-like
    /// types become text/plain for non-admins).
    pub mimetype: Option<String>,
    pub content: Bytes,
}

/// A local file to attach to a record (streamed, never read whole).
#[derive(Debug, Clone)]
pub struct AttachmentFile {
    pub name: String,
    pub res_model: String,
    pub res_id: i64,
    pub mimetype: Option<String>,
    pub path: std::path::PathBuf,
}

/// Raw bytes read per step of a streamed upload: a multiple of 3 so every chunk encodes
/// to base64 without padding in the middle of the text.
const UPLOAD_CHUNK: usize = 48 * 1024;

/// `head`, the base64 of the file at `path` in chunks, then `tail`.
pub(crate) fn base64_body(
    head: Bytes,
    path: std::path::PathBuf,
    tail: Bytes,
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    enum Step {
        Head(Bytes, std::path::PathBuf, Bytes),
        Body(tokio::fs::File, Bytes),
        Done,
    }
    futures::stream::unfold(Step::Head(head, path, tail), |step| async move {
        match step {
            Step::Head(head, path, tail) => match tokio::fs::File::open(&path).await {
                Ok(f) => Some((Ok(head), Step::Body(f, tail))),
                Err(e) => Some((Err(e), Step::Done)),
            },
            Step::Body(mut f, tail) => {
                use tokio::io::AsyncReadExt as _;
                let mut buf = vec![0u8; UPLOAD_CHUNK];
                let mut filled = 0;
                // Fill the chunk whole (short reads happen) so only the last one pads.
                while filled < UPLOAD_CHUNK {
                    match f.read(&mut buf[filled..]).await {
                        Ok(0) => break,
                        Ok(n) => filled += n,
                        Err(e) => return Some((Err(e), Step::Done)),
                    }
                }
                if filled == 0 {
                    return Some((Ok(tail), Step::Done));
                }
                let text = base64::engine::general_purpose::STANDARD.encode(&buf[..filled]);
                Some((Ok(Bytes::from(text)), Step::Body(f, tail)))
            }
            Step::Done => None,
        }
    })
}

/// What a streamed download wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Download {
    pub len: u64,
    pub sha1_hex: String,
}

fn sha1_hex(data: &[u8]) -> String {
    hex::encode(Sha1::digest(data))
}

#[derive(serde::Deserialize)]
struct DatasRow {
    #[serde(default, deserialize_with = "crate::values::opt_string")]
    datas: Option<String>,
    #[serde(default, deserialize_with = "crate::values::opt_string")]
    checksum: Option<String>,
}

impl OdooClient {
    /// Uploads a file as an `ir.attachment` on `res_model`/`res_id`, then re-reads it: the
    /// returned record carries the `checksum`, `mimetype` and `file_size` Odoo stored.
    /// A lost answer is `MaybeApplied`: look for the attachment (by record, name and
    /// checksum) before uploading again.
    pub async fn attachment_upload(
        &self,
        up: &AttachmentUpload,
        origin: WriteOrigin,
    ) -> Result<Attachment, OdooError> {
        let max = self.config().upload_len_max;
        if up.content.len() as u64 > max {
            return Err(OdooError::Invalid(format!(
                "{:?} is {} bytes; uploads to Odoo are limited to {max} bytes",
                up.name,
                up.content.len()
            )));
        }
        let mut vals = Map::new();
        vals.insert("name".into(), json!(up.name));
        vals.insert("res_model".into(), json!(up.res_model));
        vals.insert("res_id".into(), json!(up.res_id));
        vals.insert("type".into(), json!("binary"));
        if let Some(m) = &up.mimetype {
            vals.insert("mimetype".into(), json!(m));
        }
        vals.insert(
            "datas".into(),
            Value::String(base64::engine::general_purpose::STANDARD.encode(&up.content)),
        );
        // base64 sends 4/3 of the bytes; a slow uplink must not turn a large upload into
        // a timeout (and so a MaybeApplied).
        let wire_len = (up.content.len() as u64).div_ceil(3) * 4;
        let cfg = self.config();
        let timeout = cfg.timeout
            + std::time::Duration::from_secs(wire_len / cfg.upload_bytes_per_second_min.max(1));
        let call = Call::write(Attachment::MODEL, "create", origin)
            .arg("vals_list", json!([vals]))
            .rpc_positional(1)
            .timeout(timeout);
        let ids: Vec<i64> = match self.call(&call).await? {
            v @ Value::Number(_) => vec![decode("ir.attachment.create", v)?],
            other => decode("ir.attachment.create", other)?,
        };
        let mut rows: Vec<Attachment> = self.read_records(&ids).await?;
        rows.pop().ok_or_else(|| OdooError::Decode {
            what: "ir.attachment.read after upload".into(),
            path: "[0]".into(),
            message: format!("attachment {ids:?} was not returned"),
        })
    }

    /// Reads one attachment's content through `datas` (base64), checked against its
    /// `checksum`.
    pub async fn attachment_content(&self, id: i64) -> Result<Bytes, OdooError> {
        let (data, checksum) = self.attachment_content_unchecked(id).await?;
        if let Some(expected) = checksum {
            let actual = sha1_hex(&data);
            if !actual.eq_ignore_ascii_case(&expected) {
                return Err(OdooError::ChecksumMismatch {
                    id,
                    expected,
                    actual,
                });
            }
        }
        Ok(data)
    }

    /// The content through `datas` and the `checksum` Odoo claims for it, unjudged: for a
    /// caller that compares hashes itself (and retries or reports a mismatch).
    pub async fn attachment_content_unchecked(
        &self,
        id: i64,
    ) -> Result<(Bytes, Option<String>), OdooError> {
        let rows: Vec<DatasRow> = self
            .read(Attachment::MODEL, &[id], &["datas", "checksum"])
            .await?;
        let row = rows.into_iter().next().ok_or_else(|| OdooError::Decode {
            what: "ir.attachment.read".into(),
            path: "[0]".into(),
            message: format!("attachment {id} was not returned"),
        })?;
        let data = match row.datas {
            None => Vec::new(),
            Some(b64) => base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .map_err(|e| OdooError::Decode {
                    what: "ir.attachment.read".into(),
                    path: "[0].datas".into(),
                    message: format!("not base64: {e}"),
                })?,
        };
        Ok((Bytes::from(data), row.checksum))
    }

    /// Creates an attachment from a local file, streaming its base64 into the request
    /// body (memory stays at one chunk), then re-reads it like
    /// [`OdooClient::attachment_upload`]. The file must not change while this runs.
    pub async fn attachment_upload_file(
        &self,
        up: &AttachmentFile,
        origin: WriteOrigin,
    ) -> Result<Attachment, OdooError> {
        let len = self.spool_len(&up.path, &up.name).await?;
        let mut vals = Map::new();
        vals.insert("name".into(), json!(up.name));
        vals.insert("res_model".into(), json!(up.res_model));
        vals.insert("res_id".into(), json!(up.res_id));
        vals.insert("type".into(), json!("binary"));
        if let Some(m) = &up.mimetype {
            vals.insert("mimetype".into(), json!(m));
        }
        vals.insert("datas".into(), json!(wire::SPOOL_MARKER));
        let mut call = Call::write(Attachment::MODEL, "create", origin)
            .arg("vals_list", json!([vals]))
            .rpc_positional(1)
            .timeout(self.upload_timeout(len));
        call.spool = Some(up.path.clone());
        let ids: Vec<i64> = match self.call(&call).await? {
            v @ Value::Number(_) => vec![decode("ir.attachment.create", v)?],
            other => decode("ir.attachment.create", other)?,
        };
        self.reread_attachment(&ids).await
    }

    /// Replaces an attachment's content with a local file's (one `write` of `datas`,
    /// streamed), then re-reads `checksum`, `file_size` and `mimetype`.
    pub async fn attachment_replace_file(
        &self,
        id: i64,
        path: &std::path::Path,
        origin: WriteOrigin,
    ) -> Result<Attachment, OdooError> {
        let len = self.spool_len(path, &format!("attachment {id}")).await?;
        let mut call = Call::write(Attachment::MODEL, "write", origin)
            .ids(&[id])
            .arg("vals", json!({ "datas": wire::SPOOL_MARKER }))
            .rpc_positional(1)
            .timeout(self.upload_timeout(len));
        call.spool = Some(path.to_path_buf());
        self.call(&call).await?;
        self.reread_attachment(&[id]).await
    }

    async fn spool_len(&self, path: &std::path::Path, what: &str) -> Result<u64, OdooError> {
        let len = tokio::fs::metadata(path)
            .await
            .map_err(|e| OdooError::Invalid(format!("cannot read {}: {e}", path.display())))?
            .len();
        let max = self.config().upload_len_max;
        if len > max {
            return Err(OdooError::Invalid(format!(
                "{what:?} is {len} bytes; uploads to Odoo are limited to {max} bytes"
            )));
        }
        Ok(len)
    }

    /// base64 sends 4/3 of the bytes; a slow uplink must not turn a large upload into a
    /// timeout (and so a MaybeApplied).
    fn upload_timeout(&self, len: u64) -> std::time::Duration {
        let cfg = self.config();
        let wire_len = len.div_ceil(3) * 4;
        cfg.timeout
            + std::time::Duration::from_secs(wire_len / cfg.upload_bytes_per_second_min.max(1))
    }

    async fn reread_attachment(&self, ids: &[i64]) -> Result<Attachment, OdooError> {
        let mut rows: Vec<Attachment> = self.read_records(ids).await?;
        rows.pop().ok_or_else(|| OdooError::Decode {
            what: "ir.attachment.read after upload".into(),
            path: "[0]".into(),
            message: format!("attachment {ids:?} was not returned"),
        })
    }

    /// Streams one attachment's content into `sink` through
    /// `ir.attachment.generate_access_token` and `GET /web/content/<id>`, in bounded memory,
    /// checked against its `checksum`. Not retried: `sink` may hold part of the file when
    /// it fails.
    pub async fn attachment_download<W: AsyncWrite + Unpin>(
        &self,
        id: i64,
        sink: &mut W,
    ) -> Result<Download, OdooError> {
        let meta: Vec<Attachment> = self.read_records(&[id]).await?;
        let expected = meta.first().and_then(|a| a.checksum.clone());
        let got = self.attachment_stream_unchecked(id, sink).await?;
        if let Some(expected) = expected {
            if !got.sha1_hex.eq_ignore_ascii_case(&expected) {
                return Err(OdooError::ChecksumMismatch {
                    id,
                    expected,
                    actual: got.sha1_hex,
                });
            }
        }
        Ok(got)
    }

    /// [`OdooClient::attachment_download`] without the checksum verdict: the caller
    /// compares `sha1_hex` with the checksum it read. Not retried: `sink` may hold part of
    /// the file when it fails.
    pub async fn attachment_stream_unchecked<W: AsyncWrite + Unpin>(
        &self,
        id: i64,
        sink: &mut W,
    ) -> Result<Download, OdooError> {
        let token_call =
            Call::write(Attachment::MODEL, "generate_access_token", WriteOrigin::App).ids(&[id]);
        let tokens: Vec<String> = decode(
            "ir.attachment.generate_access_token",
            self.call(&token_call).await?,
        )?;
        let token = tokens.into_iter().next().ok_or_else(|| OdooError::Decode {
            what: "ir.attachment.generate_access_token".into(),
            path: "[0]".into(),
            message: "no token".into(),
        })?;
        let mut url = join(&self.config().base_url, &format!("web/content/{id}"))?;
        url.query_pairs_mut()
            .append_pair("access_token", &token)
            .append_pair("download", "true");
        let read = Call::read(Attachment::MODEL, "web/content");
        let mut resp = self
            .http()
            .get(url.clone())
            .send()
            .await
            .map_err(|e| send_error(&e, &url, Some(&read)))?;
        let status = resp.status().as_u16();
        if status != 200 {
            let retry_after = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let body = resp.bytes().await.unwrap_or_default();
            return Err(wire::http_error(
                status,
                retry_after.as_deref(),
                &body,
                Some(&read),
            ));
        }
        let mut hasher = Sha1::new();
        let mut len = 0u64;
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| send_error(&e, &url, Some(&read)))?
        {
            hasher.update(&chunk);
            len += chunk.len() as u64;
            sink.write_all(&chunk)
                .await
                .map_err(|e| OdooError::Invalid(format!("cannot write attachment {id}: {e}")))?;
        }
        sink.flush()
            .await
            .map_err(|e| OdooError::Invalid(format!("cannot write attachment {id}: {e}")))?;
        let actual = hex::encode(hasher.finalize());
        Ok(Download {
            len,
            sha1_hex: actual,
        })
    }
}
