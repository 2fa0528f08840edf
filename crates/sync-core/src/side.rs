//! The two sides of every link.

use serde::{Deserialize, Serialize};

/// One of the two services a profile keeps in sync. Operations take a side instead of
/// having twin variants (`Create { side }`, not `CreateInOdoo`/`CreateInMicrosoft`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Odoo,
    Microsoft,
}

impl Side {
    /// The side a change on this side must be written to.
    pub fn other(self) -> Side {
        match self {
            Side::Odoo => Side::Microsoft,
            Side::Microsoft => Side::Odoo,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_other_side_of_the_other_side_is_the_side_itself() {
        for side in [Side::Odoo, Side::Microsoft] {
            assert_ne!(side.other(), side);
            assert_eq!(side.other().other(), side);
        }
        assert_eq!(
            serde_json::to_string(&Side::Microsoft).unwrap(),
            "\"microsoft\""
        );
    }
}
