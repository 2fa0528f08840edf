//! `/xmlrpc/2/<service>`: the same services as JSON-RPC in XML-RPC clothes, with integer
//! fault codes 1/2/3/4 and `allow_none=False` (spec §1.2).

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use quick_xml::events::Event;
use quick_xml::Reader;
use serde_json::{Map, Value};

use super::error::OdooError;
use super::OdooEmulator;

/// A parsed XML element.
#[derive(Debug, Default)]
struct El {
    name: String,
    children: Vec<El>,
    text: String,
}

impl El {
    fn child(&self, name: &str) -> Option<&El> {
        self.children.iter().find(|c| c.name == name)
    }
}

fn parse_dom(xml: &str) -> Result<El, String> {
    let mut reader = Reader::from_str(xml);
    let mut stack = vec![El::default()];
    loop {
        match reader.read_event().map_err(|e| e.to_string())? {
            Event::Start(e) => stack.push(El {
                name: e.name().as_ref().to_string(),
                ..El::default()
            }),
            Event::Empty(e) => {
                let el = El {
                    name: e.name().as_ref().to_string(),
                    ..El::default()
                };
                stack.last_mut().ok_or("unbalanced")?.children.push(el);
            }
            Event::End(_) => {
                let el = stack.pop().ok_or("unbalanced")?;
                stack.last_mut().ok_or("unbalanced")?.children.push(el);
            }
            Event::Text(t) => stack
                .last_mut()
                .ok_or("unbalanced")?
                .text
                .push_str(&t.xml10_content()),
            Event::CData(t) => stack
                .last_mut()
                .ok_or("unbalanced")?
                .text
                .push_str(&t.xml10_content()),
            Event::GeneralRef(r) => {
                let c = match r.resolve_char_ref().map_err(|e| e.to_string())? {
                    Some(c) => c,
                    None => match r.xml10_content().as_ref() {
                        "lt" => '<',
                        "gt" => '>',
                        "amp" => '&',
                        "quot" => '"',
                        "apos" => '\'',
                        other => return Err(format!("unknown entity &{other};")),
                    },
                };
                stack.last_mut().ok_or("unbalanced")?.text.push(c);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let root = stack.pop().ok_or("unbalanced")?;
    if !stack.is_empty() {
        return Err("unbalanced".into());
    }
    root.children
        .into_iter()
        .next()
        .ok_or_else(|| "empty document".into())
}

fn value_of(v: &El) -> Result<Value, String> {
    let Some(typed) = v.children.first() else {
        return Ok(Value::String(v.text.clone()));
    };
    let t = typed.text.trim();
    Ok(match typed.name.as_str() {
        "int" | "i4" | "i8" => Value::from(t.parse::<i64>().map_err(|e| e.to_string())?),
        "boolean" => Value::Bool(t == "1"),
        "double" => Value::from(t.parse::<f64>().map_err(|e| e.to_string())?),
        "string" | "dateTime.iso8601" => Value::String(typed.text.clone()),
        "base64" => Value::String(t.split_whitespace().collect()),
        "nil" => Value::Null,
        "array" => {
            let data = typed.child("data").ok_or("array without data")?;
            Value::Array(
                data.children
                    .iter()
                    .filter(|c| c.name == "value")
                    .map(value_of)
                    .collect::<Result<_, _>>()?,
            )
        }
        "struct" => {
            let mut m = Map::new();
            for member in typed.children.iter().filter(|c| c.name == "member") {
                let name = member
                    .child("name")
                    .map(|n| n.text.clone())
                    .ok_or("member without name")?;
                let value = member.child("value").ok_or("member without value")?;
                m.insert(name, value_of(value)?);
            }
            Value::Object(m)
        }
        other => return Err(format!("unknown XML-RPC type {other}")),
    })
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Marshals a value; `None` cannot be sent (`allow_none=False`).
fn to_xml(v: &Value, out: &mut String) -> Result<(), OdooError> {
    out.push_str("<value>");
    match v {
        Value::Null => {
            return Err(OdooError::type_error(
                "cannot marshal None unless allow_none is enabled",
            ))
        }
        Value::Bool(b) => out.push_str(&format!("<boolean>{}</boolean>", u8::from(*b))),
        Value::Number(n) if n.is_i64() => out.push_str(&format!("<int>{n}</int>")),
        Value::Number(n) => {
            out.push_str(&format!("<double>{}</double>", n.as_f64().unwrap_or(0.0)))
        }
        Value::String(s) => out.push_str(&format!("<string>{}</string>", escape(s))),
        Value::Array(a) => {
            out.push_str("<array><data>\n");
            for x in a {
                to_xml(x, out)?;
            }
            out.push_str("</data></array>");
        }
        Value::Object(o) => {
            out.push_str("<struct>\n");
            for (k, x) in o {
                out.push_str(&format!("<member>\n<name>{}</name>\n", escape(k)));
                to_xml(x, out)?;
                out.push_str("</member>\n");
            }
            out.push_str("</struct>");
        }
    }
    out.push_str("</value>\n");
    Ok(())
}

fn xml_response(body: String) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
        body,
    )
        .into_response()
}

pub(crate) fn fault(err: &OdooError) -> Response {
    let code = err.fault_code();
    // Code 1 carries the traceback; the business codes carry the message.
    let text = if code == 1 {
        err.serialize()["debug"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    } else {
        err.to_string()
    };
    fault_response(&format!("<int>{code}</int>"), &text)
}

/// The historical `/xmlrpc/<service>` puts the class in a string fault code
/// (`xmlrpc_handle_exception_string`).
fn legacy_fault(err: &OdooError) -> Response {
    let class = match err {
        OdooError::Missing(_) => Some("MissingError"),
        OdooError::Access(_) => Some("AccessError"),
        OdooError::User(_) | OdooError::Validation(_) => Some("UserError"),
        _ => None,
    };
    match (class, err) {
        (Some(c), _) => fault_response(
            &format!(
                "<string>{}</string>",
                escape(&format!("warning -- {c}\n\n{err}"))
            ),
            "",
        ),
        (None, OdooError::AccessDenied(_)) => {
            fault_response("<string>AccessDenied</string>", &err.to_string())
        }
        _ => fault_response(
            &format!("<string>{}</string>", escape(&err.to_string())),
            err.serialize()["debug"].as_str().unwrap_or_default(),
        ),
    }
}

fn fault_response(code_value: &str, text: &str) -> Response {
    xml_response(format!(
        "<?xml version='1.0'?>\n<methodResponse>\n<fault>\n<value><struct>\n<member>\n<name>faultCode</name>\n<value>{code_value}</value>\n</member>\n<member>\n<name>faultString</name>\n<value><string>{}</string></value>\n</member>\n</struct></value>\n</fault>\n</methodResponse>\n",
        escape(text)
    ))
}

/// `/xmlrpc/2/<service>`: integer fault codes.
pub async fn endpoint(
    State(emu): State<OdooEmulator>,
    Path(service): Path<String>,
    body: Body,
) -> Response {
    serve(emu, service, body, fault).await
}

/// `/xmlrpc/<service>`: the historical route with string fault codes.
pub async fn legacy_endpoint(
    State(emu): State<OdooEmulator>,
    Path(service): Path<String>,
    body: Body,
) -> Response {
    serve(emu, service, body, legacy_fault).await
}

async fn serve(
    emu: OdooEmulator,
    service: String,
    body: Body,
    fault: fn(&OdooError) -> Response,
) -> Response {
    if emu.rpc_disabled() {
        return super::http::not_found_html();
    }
    let bytes = match axum::body::to_bytes(body, emu.body_limit()).await {
        Ok(b) => b,
        Err(_) => {
            return (
                StatusCode::PAYLOAD_TOO_LARGE,
                "The data value transmitted exceeds the capacity limit.",
            )
                .into_response()
        }
    };
    let call = std::str::from_utf8(&bytes)
        .map_err(|e| e.to_string())
        .and_then(parse_dom)
        .and_then(|root| {
            let method = root
                .child("methodName")
                .map(|m| m.text.trim().to_string())
                .ok_or("no methodName")?;
            let params = match root.child("params") {
                Some(p) => p
                    .children
                    .iter()
                    .filter(|c| c.name == "param")
                    .map(|p| {
                        p.child("value")
                            .ok_or_else(|| "param without value".to_string())
                            .and_then(value_of)
                    })
                    .collect::<Result<Vec<_>, _>>()?,
                None => Vec::new(),
            };
            Ok::<_, String>((method, params))
        });
    let (method, params) = match call {
        Ok(c) => c,
        Err(e) => {
            return fault(&OdooError::Python {
                class: "xml.parsers.expat.ExpatError",
                message: e,
            })
        }
    };
    match super::http::dispatch_rpc(&emu, &service, &method, params) {
        Ok((v, login)) => {
            let mut out =
                String::from("<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n");
            if let Err(e) = to_xml(&v, &mut out) {
                return fault(&e);
            }
            out.push_str("</param>\n</params>\n</methodResponse>\n");
            super::http::with_user(xml_response(out), login)
        }
        Err(e) => fault(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn method_calls_parse_into_json_values() {
        let xml = "<?xml version='1.0'?><methodCall><methodName>execute_kw</methodName><params>\
            <param><value><string>odoo</string></value></param>\
            <param><value><int>2</int></value></param>\
            <param><value>a &amp; b &#60;</value></param>\
            <param><value><array><data><value><boolean>1</boolean></value><value><double>1.5</double></value></data></array></value></param>\
            <param><value><struct><member><name>k</name><value><nil/></value></member></struct></value></param>\
            </params></methodCall>";
        let root = parse_dom(xml).unwrap();
        let params: Vec<Value> = root
            .child("params")
            .unwrap()
            .children
            .iter()
            .map(|p| value_of(p.child("value").unwrap()).unwrap())
            .collect();
        assert_eq!(
            params,
            vec![
                json!("odoo"),
                json!(2),
                json!("a & b <"),
                json!([true, 1.5]),
                json!({"k": null})
            ]
        );
    }

    #[test]
    fn none_cannot_be_marshalled() {
        let mut out = String::new();
        assert!(to_xml(&json!({"a": null}), &mut out).is_err());
        let mut out = String::new();
        to_xml(&json!({"a": [1, "x<y", false]}), &mut out).unwrap();
        assert!(out.contains("<string>x&lt;y</string>") && out.contains("<boolean>0</boolean>"));
    }
}
