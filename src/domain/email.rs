//! Email addresses, parsed once at the edge ("parse, don't validate").

use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// A pragmatic check: one `@`, a non-empty local part, a dotted domain, no spaces or
    /// angle brackets, at most 254 characters. Surrounding white space is trimmed.
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let input = input.trim();
        if input.is_empty() {
            return Err("an email address is required");
        }
        if input.len() > 254 {
            return Err("that email address is too long");
        }
        let Some((local, domain)) = input.split_once('@') else {
            return Err("that is not an email address (it has no @)");
        };
        let bad_char = |c: char| c.is_whitespace() || c.is_control() || "<>()[],;:\\\"@".contains(c);
        if local.is_empty() || local.len() > 64 || local.chars().any(bad_char) {
            return Err("that is not a valid email address");
        }
        let labels: Vec<&str> = domain.split('.').collect();
        let valid_label = |l: &&str| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        };
        if labels.len() < 2 || !labels.iter().all(valid_label) {
            return Err("that is not a valid email address (check the part after @)");
        }
        Ok(Self(input.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::EmailAddress;

    #[test]
    fn accepts_ordinary_addresses() {
        for ok in ["a@acme.test", " Jane.Doe+lever@mail.example.co.uk ", "x@b-c.io"] {
            assert!(EmailAddress::parse(ok).is_ok(), "{ok}");
        }
        assert_eq!(EmailAddress::parse(" a@b.co ").unwrap().as_str(), "a@b.co");
    }

    #[test]
    fn refuses_what_is_not_an_address() {
        for bad in ["", "plain", "@acme.test", "a@", "a@localhost", "a b@c.de", "a@b..c", "<a@b.c>", "a@-b.c"] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad}");
        }
    }
}
