//! Calls as plain data, and how each transport spells them (STYLE.md, octocrab: request
//! builders are values you can test without a network). Also the pure half of error
//! handling: turning an HTTP status and body into an [`OdooError`].

use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::error::{Fault, OdooError};

/// Where a write comes from. Every write names one, so a change mirrored from Microsoft 365
/// cannot forget `no_mail_to_attendees` (odoo.md §2.6: otherwise Odoo mails attendees a
/// second invitation for a meeting Outlook already sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOrigin {
    /// Mirrors a change made in Microsoft 365: always sent with `no_mail_to_attendees`.
    Microsoft,
    /// The app's own housekeeping (an access token, a chatter note): Odoo behaves as usual.
    App,
}

/// Whether a call may be repeated blindly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    /// Reads: retried on throttling, 5xx and network errors.
    Read,
    /// Writes: retried only when Odoo surely did not apply them.
    Write(WriteOrigin),
}

/// One model method call, transport-neutral.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub model: String,
    pub method: String,
    pub kind: CallKind,
    /// The recordset (`ids` in JSON-2, the first positional argument in JSON-RPC).
    pub ids: Option<Vec<i64>>,
    /// Named arguments in the method's signature order. JSON-2 sends them all by name.
    pub args: Vec<(String, Value)>,
    /// How many of `args` JSON-RPC sends positionally: Odoo 16-18's `call_kw` needs
    /// `create`'s `vals_list` as `args[0]`.
    pub rpc_positional: usize,
    /// Call-specific context, merged over the session's.
    pub context: Map<String, Value>,
    /// Overrides the configured request timeout (large uploads need longer).
    pub timeout: Option<Duration>,
    /// A local file whose base64 replaces the argument value [`SPOOL_MARKER`] while the
    /// body is streamed, so the file is never held in memory (see `attachments.rs`).
    pub spool: Option<std::path::PathBuf>,
}

/// The placeholder value a streamed file's base64 replaces in a request body.
pub const SPOOL_MARKER: &str = "@@odoo365-spooled-content@@";

impl Call {
    /// A read-only call.
    pub fn read(model: &str, method: &str) -> Call {
        Call::new(model, method, CallKind::Read)
    }

    /// A call that changes data, from `origin`.
    pub fn write(model: &str, method: &str, origin: WriteOrigin) -> Call {
        Call::new(model, method, CallKind::Write(origin))
    }

    fn new(model: &str, method: &str, kind: CallKind) -> Call {
        Call {
            model: model.to_string(),
            method: method.to_string(),
            kind,
            ids: None,
            args: Vec::new(),
            rpc_positional: 0,
            context: Map::new(),
            timeout: None,
            spool: None,
        }
    }

    pub fn ids(mut self, ids: &[i64]) -> Call {
        self.ids = Some(ids.to_vec());
        self
    }

    /// Adds a named argument.
    pub fn arg(mut self, name: &str, value: impl Into<Value>) -> Call {
        self.args.push((name.to_string(), value.into()));
        self
    }

    /// Adds every entry of `kwargs` as a named argument, in its order.
    pub fn kwargs(mut self, kwargs: Map<String, Value>) -> Call {
        self.args.extend(kwargs);
        self
    }

    /// Sends the first `n` arguments positionally over JSON-RPC.
    pub fn rpc_positional(mut self, n: usize) -> Call {
        self.rpc_positional = n;
        self
    }

    /// Gives this call its own timeout.
    pub fn timeout(mut self, timeout: Duration) -> Call {
        self.timeout = Some(timeout);
        self
    }

    /// Sets one context key for this call.
    pub fn context(mut self, key: &str, value: impl Into<Value>) -> Call {
        self.context.insert(key.to_string(), value.into());
        self
    }

    pub fn is_write(&self) -> bool {
        matches!(self.kind, CallKind::Write(_))
    }

    /// The context sent: the session's, then the call's, then what the origin requires
    /// (last, so nothing can turn it off).
    pub fn effective_context(&self, session: &Map<String, Value>) -> Map<String, Value> {
        let mut ctx = session.clone();
        for (k, v) in &self.context {
            ctx.insert(k.clone(), v.clone());
        }
        if self.kind == CallKind::Write(WriteOrigin::Microsoft) {
            ctx.insert("no_mail_to_attendees".into(), Value::Bool(true));
        }
        ctx
    }

    /// `POST /json/2/<model>/<method>` path.
    pub fn json2_path(&self) -> String {
        format!("json/2/{}/{}", self.model, self.method)
    }

    /// The JSON-2 body: `ids`, `context`, and every argument by name.
    pub fn json2_body(&self, session: &Map<String, Value>) -> Value {
        let mut body = Map::new();
        if let Some(ids) = &self.ids {
            body.insert("ids".into(), json!(ids));
        }
        body.insert(
            "context".into(),
            Value::Object(self.effective_context(session)),
        );
        for (k, v) in &self.args {
            body.insert(k.clone(), v.clone());
        }
        Value::Object(body)
    }

    /// `(args, kwargs)` of `object.execute_kw`.
    pub fn rpc_args(&self, session: &Map<String, Value>) -> (Vec<Value>, Map<String, Value>) {
        let mut args = Vec::new();
        if let Some(ids) = &self.ids {
            args.push(json!(ids));
        }
        let mut kwargs = Map::new();
        for (i, (k, v)) in self.args.iter().enumerate() {
            if i < self.rpc_positional {
                args.push(v.clone());
            } else {
                kwargs.insert(k.clone(), v.clone());
            }
        }
        kwargs.insert(
            "context".into(),
            Value::Object(self.effective_context(session)),
        );
        (args, kwargs)
    }
}

/// A JSON-RPC 2.0 envelope for `service.method(*args)`.
pub fn jsonrpc_envelope(service: &str, method: &str, args: Vec<Value>, id: u64) -> Value {
    json!({
        "jsonrpc": "2.0",
        "method": "call",
        "params": {"service": service, "method": method, "args": args},
        "id": id,
    })
}

/// `Retry-After` in seconds. An HTTP date is not honoured (no wall clock here): the caller
/// falls back to its backoff.
pub fn parse_retry_after(header: Option<&str>) -> Option<Duration> {
    let s = header?.trim();
    s.parse::<f64>()
        .ok()
        .filter(|n| n.is_finite() && *n >= 0.0)
        // `try_`: a huge value (`1e30`) made `from_secs_f64` panic (found by fuzzing).
        .and_then(|n| Duration::try_from_secs_f64(n).ok())
}

fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let t = text.trim();
    let mut cut: String = t.chars().take(300).collect();
    if t.chars().count() > 300 {
        cut.push('…');
    }
    cut
}

/// The fault in an Odoo error object (`{name, message, arguments, ...}`), as JSON-2's body
/// or JSON-RPC's `error.data` carry it.
fn fault_from_object(obj: &Map<String, Value>, http_status: Option<u16>) -> Option<Fault> {
    let name = obj.get("name").and_then(Value::as_str)?.to_string();
    let message = obj
        .get("message")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| {
            obj.get("arguments")
                .and_then(|a| a.get(0))
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_default();
    Some(Fault {
        name,
        message,
        http_status,
    })
}

/// Classifies a non-success HTTP answer (any transport). `is_write` decides whether an
/// answer that does not prove a rollback (a gateway error) is *maybe applied*.
pub fn http_error(
    status: u16,
    retry_after: Option<&str>,
    body: &[u8],
    call: Option<&Call>,
) -> OdooError {
    let retry_after = parse_retry_after(retry_after);
    if status == 429 || (status == 503 && retry_after.is_some()) {
        return OdooError::Throttled { retry_after };
    }
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let fault = match &parsed {
        Some(Value::Object(o)) => fault_from_object(o, Some(status)),
        // The saas-18 JSON-2 prototype answered a bare string ("Invalid apikey").
        Some(Value::String(s)) => Some(Fault {
            name: String::new(),
            message: s.clone(),
            http_status: Some(status),
        }),
        _ => None,
    };
    if let Some(fault) = fault {
        // Odoo answered with its own error object: the transaction was rolled back.
        return OdooError::from_fault(fault);
    }
    if status >= 500 {
        // No Odoo error body: a proxy or a dying worker answered. A write may have been
        // committed behind a 502/504/500; only a 503 says the request was not taken.
        return match call {
            Some(c) if c.is_write() && status != 503 => OdooError::MaybeApplied {
                model: c.model.clone(),
                method: c.method.clone(),
                detail: format!("HTTP {status} without an Odoo error"),
            },
            _ => OdooError::Unavailable { status },
        };
    }
    let fault = Fault {
        name: String::new(),
        message: format!("HTTP {status}: {}", excerpt(body)),
        http_status: Some(status),
    };
    OdooError::from_fault(fault)
}

/// The `result` of a JSON-RPC answer (HTTP 200), or its error classified by
/// `error.data.name` (odoo.md §1.3: the code is arbitrary, 200 or 0, so it is not used, except
/// 100 "session expired").
pub fn jsonrpc_result(body: Value) -> Result<Value, OdooError> {
    let Value::Object(mut obj) = body else {
        return Err(OdooError::Decode {
            what: "a JSON-RPC answer".into(),
            path: ".".into(),
            message: "expected an object".into(),
        });
    };
    if let Some(err) = obj.remove("error") {
        let code = err.get("code").and_then(Value::as_i64);
        let top_message = err
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("Odoo Server Error")
            .to_string();
        let fault = err
            .get("data")
            .and_then(Value::as_object)
            .and_then(|d| fault_from_object(d, None))
            .unwrap_or(Fault {
                name: String::new(),
                message: top_message,
                http_status: None,
            });
        if code == Some(100) {
            return Err(OdooError::Unauthorized(fault));
        }
        return Err(OdooError::from_fault(fault));
    }
    match obj.remove("result") {
        Some(v) => Ok(v),
        None => Err(OdooError::Decode {
            what: "a JSON-RPC answer".into(),
            path: "result".into(),
            message: "neither `result` nor `error`".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("tz".into(), json!("Europe/Brussels"));
        m.insert("lang".into(), json!("en_US"));
        m
    }

    #[test]
    fn json2_sends_ids_context_and_named_arguments() {
        let call = Call::write("calendar.event", "write", WriteOrigin::App)
            .ids(&[1, 2])
            .arg("vals", json!({"name": "x"}));
        assert_eq!(call.json2_path(), "json/2/calendar.event/write");
        assert_eq!(
            call.json2_body(&session()),
            json!({"ids": [1, 2], "context": {"tz": "Europe/Brussels", "lang": "en_US"},
                   "vals": {"name": "x"}})
        );
    }

    #[test]
    fn jsonrpc_sends_ids_first_and_create_values_positionally() {
        let call = Call::write("calendar.event", "create", WriteOrigin::App)
            .arg("vals_list", json!([{"name": "x"}]))
            .rpc_positional(1);
        let (args, kwargs) = call.rpc_args(&session());
        assert_eq!(args, vec![json!([{"name": "x"}])]);
        assert_eq!(kwargs.keys().collect::<Vec<_>>(), vec!["context"]);
        let read = Call::read("calendar.event", "read")
            .ids(&[4])
            .arg("fields", json!(["name"]));
        let (args, kwargs) = read.rpc_args(&session());
        assert_eq!(args, vec![json!([4])]);
        assert_eq!(kwargs["fields"], json!(["name"]));
    }

    #[test]
    fn a_microsoft_write_always_carries_no_mail_to_attendees_even_if_the_call_says_otherwise() {
        let call = Call::write("calendar.event", "write", WriteOrigin::Microsoft)
            .ids(&[1])
            .context("no_mail_to_attendees", false);
        assert_eq!(
            call.json2_body(&session())["context"]["no_mail_to_attendees"],
            json!(true)
        );
        assert_eq!(
            call.rpc_args(&session()).1["context"]["no_mail_to_attendees"],
            json!(true)
        );
        let app = Call::write("calendar.event", "write", WriteOrigin::App);
        assert!(app.json2_body(&session())["context"]
            .get("no_mail_to_attendees")
            .is_none());
    }

    #[test]
    fn retry_after_is_read_in_seconds() {
        assert_eq!(parse_retry_after(Some("3")), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after(Some(" 1.5 ")),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            parse_retry_after(Some("Wed, 21 Oct 2015 07:28:00 GMT")),
            None
        );
    }

    #[test]
    fn a_huge_retry_after_is_ignored_not_a_panic() {
        // Found by fuzz/fuzz_targets/odoo_decode.rs: `from_secs_f64` panicked on overflow.
        assert_eq!(parse_retry_after(Some("1e30")), None);
        assert_eq!(
            http_error(429, Some("1e30"), b"", None).to_string(),
            http_error(429, None, b"", None).to_string()
        );
    }

    #[test]
    fn a_gateway_error_on_a_write_is_maybe_applied_but_on_a_read_is_unavailable() {
        let w = Call::write("calendar.event", "create", WriteOrigin::App);
        let r = Call::read("calendar.event", "search_read");
        assert!(matches!(
            http_error(504, None, b"<html>", Some(&w)),
            OdooError::MaybeApplied { .. }
        ));
        assert!(matches!(
            http_error(504, None, b"<html>", Some(&r)),
            OdooError::Unavailable { status: 504 }
        ));
        assert!(matches!(
            http_error(503, None, b"", Some(&w)),
            OdooError::Unavailable { status: 503 }
        ));
    }
}
