//! A small command-line reader: positional arguments and `--flag [value]`
//! options, with errors that name the option.

use std::collections::VecDeque;
use std::str::FromStr;

/// The arguments after the subcommand.
pub struct Args {
    rest: VecDeque<String>,
}

impl Args {
    pub fn new(args: impl IntoIterator<Item = String>) -> Args {
        Args { rest: args.into_iter().collect() }
    }

    /// Remove `--name` if present.
    pub fn flag(&mut self, name: &str) -> bool {
        let before = self.rest.len();
        self.rest.retain(|a| a != name);
        self.rest.len() != before
    }

    /// Remove `--name VALUE` (or `--name=VALUE`) and parse VALUE.
    pub fn option<T: FromStr>(&mut self, name: &str) -> Result<Option<T>, String>
    where
        T::Err: std::fmt::Display,
    {
        let prefix = format!("{name}=");
        let Some(i) = self.rest.iter().position(|a| a == name || a.starts_with(&prefix)) else { return Ok(None) };
        let arg = self.rest.remove(i).unwrap_or_default();
        let value = match arg.strip_prefix(&prefix) {
            Some(v) => v.to_string(),
            None => self.rest.remove(i).ok_or_else(|| format!("{name} needs a value"))?,
        };
        value.parse::<T>().map(Some).map_err(|e| format!("{name} {value}: {e}"))
    }

    /// The next positional argument.
    pub fn positional(&mut self) -> Option<String> {
        let i = self.rest.iter().position(|a| !a.starts_with("--"))?;
        self.rest.remove(i)
    }

    /// The next positional argument, left in place.
    pub fn peek_positional(&self) -> Option<&str> {
        self.rest.iter().find(|a| !a.starts_with("--")).map(String::as_str)
    }

    /// Fail if anything was not consumed.
    pub fn finish(self) -> Result<(), String> {
        match self.rest.front() {
            None => Ok(()),
            Some(a) => Err(format!("unexpected argument `{a}`")),
        }
    }
}

/// Parse a number written in decimal or as 0x-prefixed hex.
pub fn parse_u8(text: &str) -> Result<u8, String> {
    let r = match text.strip_prefix("0x") {
        Some(h) => u8::from_str_radix(h, 16),
        None => text.parse(),
    };
    r.map_err(|e| format!("`{text}`: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Args {
        Args::new(s.split_whitespace().map(String::from))
    }

    #[test]
    fn options_flags_and_positionals() {
        let mut a = args("vfio --bind 0000:00:1b.0 --seconds 2 --id=46f4:0002");
        assert!(a.flag("--bind"));
        assert_eq!(a.option::<u32>("--seconds").unwrap(), Some(2));
        assert_eq!(a.option::<String>("--id").unwrap().as_deref(), Some("46f4:0002"));
        assert_eq!(a.positional().as_deref(), Some("vfio"));
        assert_eq!(a.positional().as_deref(), Some("0000:00:1b.0"));
        assert!(a.finish().is_ok());
    }

    #[test]
    fn bad_values_name_the_option() {
        assert!(args("--seconds x").option::<u32>("--seconds").unwrap_err().contains("--seconds x"));
        assert!(args("--seconds").option::<u32>("--seconds").unwrap_err().contains("needs a value"));
        assert!(args("--what").finish().unwrap_err().contains("--what"));
        assert_eq!(parse_u8("0x81").unwrap(), 0x81);
        assert!(parse_u8("0x181").is_err());
    }
}
