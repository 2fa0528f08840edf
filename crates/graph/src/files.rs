//! OneDrive content: simple upload below a threshold, resumable upload sessions above it,
//! streaming downloads, and QuickXorHash checked on every transfer. Memory stays bounded
//! by one upload fragment (or the simple-upload threshold); no whole large file is held.

use std::future::Future;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::client::GraphClient;
use crate::config::check_transport_security;
use crate::error::{decode, GraphError};
use crate::hashes::{QuickXorHash, QuickXorHashText};
use crate::models::{ConflictBehavior, DriveItem, UploadSessionInfo};
use crate::transport::GraphRequest;

/// Where uploaded content goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadTarget {
    /// A new file: a parent folder by id, a name, and what to do on a name clash.
    New {
        parent_id: String,
        name: String,
        conflict: ConflictBehavior,
    },
    /// New content for an existing item, addressed by id (survives renames and moves);
    /// with `if_match` (its eTag or cTag) a concurrent change is `PreconditionFailed`.
    Replace {
        item_id: String,
        if_match: Option<String>,
    },
}

impl UploadTarget {
    pub fn new_file(
        parent_id: impl Into<String>,
        name: impl Into<String>,
        conflict: ConflictBehavior,
    ) -> Self {
        UploadTarget::New {
            parent_id: parent_id.into(),
            name: name.into(),
            conflict,
        }
    }

    pub fn replace(item_id: impl Into<String>, if_match: Option<String>) -> Self {
        UploadTarget::Replace {
            item_id: item_id.into(),
            if_match,
        }
    }
}

/// What the caller persists to resume an upload after a crash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UploadSession {
    pub upload_url: String,
    pub size: u64,
    pub expiration: Option<DateTime<Utc>>,
}

/// A finished upload.
#[derive(Debug, Clone, PartialEq)]
pub struct Uploaded {
    pub item: DriveItem,
    /// The QuickXorHash of the bytes sent, base64.
    pub quick_xor_hash: String,
    /// False only when Graph reported no hash even on a re-read (it can lag during
    /// co-authoring); a reported hash that differs is `HashMismatch`, never `false` here.
    pub verified: bool,
}

/// A finished download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downloaded {
    pub bytes: u64,
    pub quick_xor_hash: String,
}

/// Bytes read per step while skipping or hashing already-uploaded content.
const SKIP_CHUNK: usize = 64 * 1024;

impl GraphClient {
    /// Uploads `size` bytes from the reader `open()` returns: by simple PUT up to
    /// `simple_upload_bytes_max`, else through an upload session (announced to
    /// `on_session` before the first byte, so the caller can persist it for
    /// `resume_upload`). An expired session is restarted with a fresh reader, at most
    /// `upload_restarts_max` times.
    pub async fn upload<F, Fut, R>(
        &self,
        target: &UploadTarget,
        size: u64,
        mut open: F,
        mut on_session: impl FnMut(&UploadSession),
    ) -> Result<Uploaded, GraphError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = std::io::Result<R>>,
        R: AsyncRead + Unpin,
    {
        if let UploadTarget::New { name, .. } = target {
            crate::names::check_name(name)?;
        }
        if size <= self.config().simple_upload_bytes_max {
            let mut reader = open().await?;
            return self.simple_upload(target, size, &mut reader).await;
        }
        let mut restarts = 0;
        loop {
            let session = self.create_upload_session(target, size).await?;
            on_session(&session);
            let reader = open().await?;
            match self.send_fragments(&session, reader, 0).await {
                Err(GraphError::UploadSessionExpired)
                    if restarts < self.config().upload_restarts_max =>
                {
                    restarts += 1;
                    tracing::debug!(restarts, "upload session expired; starting a new one");
                }
                other => return other,
            }
        }
    }

    async fn simple_upload<R: AsyncRead + Unpin>(
        &self,
        target: &UploadTarget,
        size: u64,
        reader: &mut R,
    ) -> Result<Uploaded, GraphError> {
        let mut content = Vec::with_capacity(size as usize);
        reader.take(size + 1).read_to_end(&mut content).await?;
        if content.len() as u64 != size {
            return Err(GraphError::Invalid(format!(
                "the reader gave {} bytes, the declared size is {size}",
                content.len()
            )));
        }
        let mut hasher = QuickXorHash::new();
        hasher.update(&content);
        let req = self.requests.upload_content(target, Bytes::from(content));
        let item: DriveItem = self.send_json(&req, "driveItem").await?;
        self.verify_uploaded(item, hasher.finalize_base64()).await
    }

    /// Creates an upload session for `size` bytes of new or replacement content.
    pub async fn create_upload_session(
        &self,
        target: &UploadTarget,
        size: u64,
    ) -> Result<UploadSession, GraphError> {
        let req = self.requests.upload_session_for(target, size)?;
        let info: UploadSessionInfo = self.send_json(&req, "uploadSession").await?;
        let upload_url = info.upload_url.ok_or_else(|| GraphError::Decode {
            what: "uploadSession",
            path: "uploadUrl".into(),
            message: "missing".into(),
        })?;
        Ok(UploadSession {
            upload_url,
            size,
            expiration: info.expiration_date_time,
        })
    }

    /// `GET {uploadUrl}`: the ranges still expected. A gone session is
    /// `UploadSessionExpired`.
    pub async fn upload_session_status(
        &self,
        upload_url: &str,
    ) -> Result<UploadSessionInfo, GraphError> {
        let req = self.requests.upload_status(upload_url)?;
        match self.send_json(&req, "uploadSession").await {
            Err(GraphError::NotFound { .. }) => Err(GraphError::UploadSessionExpired),
            other => other,
        }
    }

    /// Abandons a session (`DELETE {uploadUrl}`).
    pub async fn cancel_upload_session(&self, upload_url: &str) -> Result<(), GraphError> {
        self.send(&self.requests.cancel_upload(upload_url)?)
            .await
            .map(drop)
    }

    /// Resumes a persisted session after a crash: asks Graph which bytes it still expects
    /// and sends only those. `reader` starts at byte 0 of the same content; bytes already
    /// received are read and hashed but not re-sent. `UploadSessionExpired` means: call
    /// `upload` again.
    pub async fn resume_upload<R: AsyncRead + Unpin>(
        &self,
        session: &UploadSession,
        reader: R,
    ) -> Result<Uploaded, GraphError> {
        let info = self.upload_session_status(&session.upload_url).await?;
        let next = first_expected(&info)?.unwrap_or(0);
        self.send_fragments(session, reader, next).await
    }

    async fn send_fragments<R: AsyncRead + Unpin>(
        &self,
        session: &UploadSession,
        mut reader: R,
        mut next: u64,
    ) -> Result<Uploaded, GraphError> {
        let size = session.size;
        let fragment_max = self.config().upload_fragment_bytes;
        let mut hasher = QuickXorHash::new();
        let mut pos: u64 = 0;
        // The fragment last sent, kept so a server that asks again for part of it is served.
        let mut last: Option<(u64, Bytes)> = None;
        loop {
            if next > size {
                return Err(GraphError::Invalid(format!(
                    "the session expects byte {next} of a {size}-byte file"
                )));
            }
            let fragment = if next < pos {
                match &last {
                    Some((start, bytes)) if next >= *start => {
                        bytes.slice((next - start) as usize..)
                    }
                    _ => {
                        return Err(GraphError::Invalid(format!(
                            "the session asks again for byte {next}, already discarded"
                        )))
                    }
                }
            } else {
                skip_to(&mut reader, &mut hasher, &mut pos, next).await?;
                let len = (size - pos).min(fragment_max as u64) as usize;
                let mut buf = vec![0u8; len];
                reader.read_exact(&mut buf).await?;
                hasher.update(&buf);
                pos += len as u64;
                Bytes::from(buf)
            };
            last = Some((next, fragment.clone()));
            let req = self
                .requests
                .upload_fragment(&session.upload_url, next, fragment, size)?;
            match self.send(&req).await {
                Ok(resp) if resp.status.as_u16() == 202 => {
                    let info: UploadSessionInfo = decode("uploadSession", &resp.body)?;
                    next = match first_expected(&info)? {
                        Some(n) => n,
                        None => pos,
                    };
                }
                Ok(resp) => {
                    // 200/201: the last fragment completed the file.
                    skip_to(&mut reader, &mut hasher, &mut pos, size).await?;
                    let item: DriveItem = decode("driveItem", &resp.body)?;
                    return self.verify_uploaded(item, hasher.finalize_base64()).await;
                }
                Err(GraphError::NotFound { .. }) => return Err(GraphError::UploadSessionExpired),
                Err(GraphError::Rejected { status: 416, .. }) => {
                    // The range overlaps what Graph has: ask where it stands.
                    let info = self.upload_session_status(&session.upload_url).await?;
                    next = first_expected(&info)?.unwrap_or(pos);
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn verify_uploaded(&self, item: DriveItem, sent: String) -> Result<Uploaded, GraphError> {
        let sent_bytes: QuickXorHashText = sent
            .parse()
            .map_err(|e: crate::hashes::BadQuickXorHash| GraphError::Invalid(e.to_string()))?;
        let item = if item.quick_xor_hash().is_none() && !item.id.is_empty() {
            self.get_item(&item.id).await?
        } else {
            item
        };
        match item.quick_xor_hash() {
            None => Ok(Uploaded {
                item,
                quick_xor_hash: sent,
                verified: false,
            }),
            Some(Ok(reported)) if reported == sent_bytes => Ok(Uploaded {
                item,
                quick_xor_hash: sent,
                verified: true,
            }),
            Some(_) => Err(GraphError::HashMismatch {
                expected: sent,
                actual: reported_text(&item),
            }),
        }
    }

    /// Streams a file's content into `sink`, following the 302 to the pre-authenticated URL
    /// without the token, and checks the QuickXorHash. `expected` is the item's
    /// `quickXorHash` (base64 or hex); with `None` the item is read first to learn it.
    /// On `HashMismatch` the sink holds bad bytes: write to a temporary file and discard it.
    pub async fn download<W: AsyncWrite + Unpin>(
        &self,
        item_id: &str,
        expected: Option<&str>,
        mut sink: W,
    ) -> Result<Downloaded, GraphError> {
        let expected_text = match expected {
            Some(e) => Some(e.to_string()),
            None => self
                .get_item(item_id)
                .await?
                .file
                .and_then(|f| f.hashes)
                .and_then(|h| h.quick_xor_hash),
        };
        let got = self.download_unchecked(item_id, &mut sink).await?;
        if let Some(expected) = expected_text {
            let want: QuickXorHashText = expected
                .parse()
                .map_err(|e: crate::hashes::BadQuickXorHash| GraphError::Invalid(e.to_string()))?;
            let have: QuickXorHashText = got
                .quick_xor_hash
                .parse()
                .map_err(|e: crate::hashes::BadQuickXorHash| GraphError::Invalid(e.to_string()))?;
            if want != have {
                return Err(GraphError::HashMismatch {
                    expected,
                    actual: got.quick_xor_hash,
                });
            }
        }
        Ok(got)
    }

    /// Streams a file's content into `sink` (the 302 followed without the token) and
    /// reports its length and QuickXorHash, without judging it: for a caller that compares
    /// hashes itself. One request plus the redirect.
    pub async fn download_unchecked<W: AsyncWrite + Unpin>(
        &self,
        item_id: &str,
        mut sink: W,
    ) -> Result<Downloaded, GraphError> {
        let mut resp = self
            .send_streaming(&self.requests.download(item_id))
            .await?;
        if resp.status().is_redirection() {
            let location = resp
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| GraphError::Invalid("redirect without Location".into()))?;
            let url = resp
                .url()
                .join(location)
                .map_err(|e| GraphError::Invalid(format!("bad download Location: {e}")))?;
            check_transport_security(&url)?;
            let req = GraphRequest::new(reqwest::Method::GET, url).without_auth();
            resp = self.send_streaming(&req).await?;
        }
        let mut hasher = QuickXorHash::new();
        let mut bytes = 0u64;
        loop {
            let chunk = resp.chunk().await.map_err(|e| {
                GraphError::Io(std::io::Error::other(format!("download stream: {e}")))
            })?;
            let Some(chunk) = chunk else { break };
            hasher.update(&chunk);
            sink.write_all(&chunk).await?;
            bytes += chunk.len() as u64;
        }
        sink.flush().await?;
        Ok(Downloaded {
            bytes,
            quick_xor_hash: hasher.finalize_base64(),
        })
    }
}

fn reported_text(item: &DriveItem) -> String {
    item.file
        .as_ref()
        .and_then(|f| f.hashes.as_ref())
        .and_then(|h| h.quick_xor_hash.clone())
        .unwrap_or_default()
}

/// Reads and hashes (without sending) up to byte `to`.
async fn skip_to<R: AsyncRead + Unpin>(
    reader: &mut R,
    hasher: &mut QuickXorHash,
    pos: &mut u64,
    to: u64,
) -> Result<(), GraphError> {
    let mut scratch = vec![0u8; SKIP_CHUNK];
    while *pos < to {
        let want = ((to - *pos) as usize).min(SKIP_CHUNK);
        let n = reader.read(&mut scratch[..want]).await?;
        if n == 0 {
            return Err(GraphError::Io(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the reader ended before the declared size",
            )));
        }
        hasher.update(&scratch[..n]);
        *pos += n as u64;
    }
    Ok(())
}

/// The start of the first expected range (`"12345-"` or `"12345-55232"`).
fn first_expected(info: &UploadSessionInfo) -> Result<Option<u64>, GraphError> {
    let Some(first) = info.next_expected_ranges.as_ref().and_then(|r| r.first()) else {
        return Ok(None);
    };
    let start = first.split('-').next().unwrap_or("");
    start
        .trim()
        .parse::<u64>()
        .map(Some)
        .map_err(|_| GraphError::Decode {
            what: "uploadSession",
            path: "nextExpectedRanges[0]".into(),
            message: format!("not a byte range: {first:?}"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_expected_range_start_is_read_from_open_and_closed_ranges() {
        let info = |r: &[&str]| UploadSessionInfo {
            next_expected_ranges: Some(r.iter().map(|s| s.to_string()).collect()),
            ..Default::default()
        };
        assert_eq!(first_expected(&info(&["26-"])).unwrap(), Some(26));
        assert_eq!(
            first_expected(&info(&["12345-55232", "77829-99375"])).unwrap(),
            Some(12345)
        );
        assert_eq!(first_expected(&UploadSessionInfo::default()).unwrap(), None);
        assert!(first_expected(&info(&["x-"])).is_err());
    }
}
