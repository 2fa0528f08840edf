//! Search domains: parsing Odoo's prefix notation into a tree, and the SQL-like value tests
//! (`like` patterns, null rules) that evaluation uses. Evaluation against rows lives in
//! `orm.rs`, which can follow many2one paths through the tables.

use serde_json::Value;

use super::error::OdooError;

#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    True,
    False,
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Leaf {
        /// `partner_id.email` split at the dots.
        path: Vec<String>,
        op: String,
        value: Value,
    },
}

pub const OPERATORS: &[&str] = &[
    "=",
    "!=",
    "<=",
    "<",
    ">",
    ">=",
    "=?",
    "=like",
    "=ilike",
    "like",
    "not like",
    "ilike",
    "not ilike",
    "in",
    "not in",
    "child_of",
    "parent_of",
    "any",
    "not any",
];

fn bad(domain: &Value) -> OdooError {
    OdooError::value_error(format!("Invalid domain: {domain}"))
}

/// Parses a domain value (`[]`, `false` or a list of operators and triples).
pub fn parse(domain: &Value, allow_any: bool) -> Result<Node, OdooError> {
    let items = match domain {
        Value::Null | Value::Bool(false) => return Ok(Node::True),
        Value::Array(items) => items,
        _ => return Err(bad(domain)),
    };
    let mut stack: Vec<Node> = Vec::new();
    for item in items.iter().rev() {
        match item {
            Value::String(op) => {
                let node = match op.as_str() {
                    "&" | "|" => {
                        let (a, b) = match (stack.pop(), stack.pop()) {
                            (Some(a), Some(b)) => (a, b),
                            _ => return Err(bad(domain)),
                        };
                        if op == "&" {
                            Node::And(vec![a, b])
                        } else {
                            Node::Or(vec![a, b])
                        }
                    }
                    "!" => Node::Not(Box::new(stack.pop().ok_or_else(|| bad(domain))?)),
                    _ => return Err(bad(domain)),
                };
                stack.push(node);
            }
            Value::Array(t) if t.len() == 3 => stack.push(leaf(t, allow_any, domain)?),
            _ => return Err(bad(domain)),
        }
    }
    stack.reverse();
    Ok(match stack.len() {
        0 => Node::True,
        1 => stack.pop().unwrap_or(Node::True),
        _ => Node::And(stack),
    })
}

fn leaf(t: &[Value], allow_any: bool, domain: &Value) -> Result<Node, OdooError> {
    let op = t[1]
        .as_str()
        .ok_or_else(|| bad(domain))?
        .to_ascii_lowercase();
    // TRUE_LEAF (1, '=', 1) and FALSE_LEAF (0, '=', 1).
    if let Some(n) = t[0].as_i64() {
        return Ok(if n == 1 { Node::True } else { Node::False });
    }
    let left = t[0].as_str().ok_or_else(|| bad(domain))?;
    if !OPERATORS.contains(&op.as_str()) || (op.ends_with("any") && !allow_any) {
        return Err(OdooError::value_error(format!(
            "Invalid leaf {}",
            Value::Array(t.to_vec())
        )));
    }
    Ok(Node::Leaf {
        path: left.split('.').map(str::to_string).collect(),
        op,
        value: t[2].clone(),
    })
}

impl Node {
    /// Whether any leaf names `field` as its first path element (e.g. `active`, `res_field`).
    pub fn mentions(&self, field: &str) -> bool {
        match self {
            Node::True | Node::False => false,
            Node::And(v) | Node::Or(v) => v.iter().any(|n| n.mentions(field)),
            Node::Not(n) => n.mentions(field),
            Node::Leaf { path, .. } => path.first().is_some_and(|p| p == field),
        }
    }
}

/// SQL `LIKE` matching with `%` and `_` wildcards and `\` escapes.
pub fn like(text: &str, pattern: &str, case_insensitive: bool) -> bool {
    let (t, p): (Vec<char>, Vec<char>) = if case_insensitive {
        (
            text.to_lowercase().chars().collect(),
            pattern.to_lowercase().chars().collect(),
        )
    } else {
        (text.chars().collect(), pattern.chars().collect())
    };
    like_at(&t, &p)
}

fn like_at(t: &[char], p: &[char]) -> bool {
    // Iterative wildcard matching with backtracking on the last `%`.
    let (mut ti, mut pi) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() {
            match p[pi] {
                '%' => {
                    star = Some((pi, ti));
                    pi += 1;
                    continue;
                }
                '_' => {
                    ti += 1;
                    pi += 1;
                    continue;
                }
                '\\' if pi + 1 < p.len() && p[pi + 1] == t[ti] => {
                    ti += 1;
                    pi += 2;
                    continue;
                }
                c if c == t[ti] => {
                    ti += 1;
                    pi += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, st)) => {
                pi = sp + 1;
                ti = st + 1;
                star = Some((sp, st + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|&c| c == '%')
}

/// The pattern `like`/`ilike` use: the value wrapped in `%` (Odoo adds them; `=like` does not).
pub fn wrap_like(value: &str) -> String {
    format!("%{value}%")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn prefix_operators_nest_and_consecutive_terms_are_anded() {
        let d = json!(["|", ["a", "=", 1], ["b", "=", 2], ["c", "=", 3]]);
        match parse(&d, true).unwrap() {
            Node::And(v) => {
                assert_eq!(v.len(), 2);
                assert!(matches!(v[0], Node::Or(_)));
            }
            other => panic!("{other:?}"),
        }
        let n = parse(&json!(["!", ["partner_id.email", "ilike", "x"]]), true).unwrap();
        match n {
            Node::Not(inner) => assert!(
                matches!(*inner, Node::Leaf { ref path, .. } if path == &vec!["partner_id".to_string(), "email".to_string()])
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn malformed_domains_are_value_errors_not_panics() {
        for d in [
            json!(["&", ["a", "=", 1]]),
            json!([["a", "=="]]),
            json!([["a", "bogus", 1]]),
            json!("x"),
            json!([42]),
        ] {
            assert!(parse(&d, true).is_err(), "{d}");
        }
        assert!(parse(&json!([["a", "any", []]]), false).is_err());
        assert_eq!(parse(&json!([[1, "=", 1]]), true).unwrap(), Node::True);
    }

    #[test]
    fn like_patterns_follow_sql_wildcards() {
        assert!(like("Weekly sync", &wrap_like("sync"), false));
        assert!(!like("Weekly Sync", &wrap_like("sync"), false));
        assert!(like("Weekly Sync", &wrap_like("sync"), true));
        assert!(like("abc", "a_c", false));
        assert!(!like("abbc", "a_c", false));
        assert!(like("100%", "100\\%", false));
        assert!(like("anything", "%", false));
        assert!(like("ab", "a%b%", false));
    }
}
