//! [`Stats`]: the server's counters, and their text form on the wire (one
//! `name value` pair a line), written by `soak-server` and read by `soak`.

use std::fmt;

/// What the soak server counted since it started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// `on_open` calls: connections that opened.
    pub opens: u64,
    /// `on_close` calls for a connection that was open.
    pub closes: u64,
    /// Connections opened and neither closed nor failed yet.
    pub open_now: u64,
    /// `on_close` calls for a connection closed a moment before (among the
    /// last few thousand closed).
    pub double_closes: u64,
    /// `on_close` calls for an id that was never opened (or was closed long
    /// before, beyond the memory of recent closes).
    pub unpaired_closes: u64,
    /// Messages received (and echoed).
    pub messages: u64,
    /// Payload bytes received (and echoed).
    pub bytes: u64,
    /// `on_error` calls, all kinds.
    pub errors: u64,
    /// Echoes the server refused to queue (the connection was closing).
    pub refused_echoes: u64,
    /// Spells of failing accepts reported (`on_accept_error`): one per
    /// worker per spell, however many tries failed.
    pub accept_errors: u64,
    /// Ends of such spells reported (`on_accept_resumed`).
    pub accept_resumes: u64,
}

impl Stats {
    /// Each counter with its name, in the order they are written.
    pub fn fields(&self) -> [(&'static str, u64); 11] {
        [
            ("opens", self.opens),
            ("closes", self.closes),
            ("open_now", self.open_now),
            ("double_closes", self.double_closes),
            ("unpaired_closes", self.unpaired_closes),
            ("messages", self.messages),
            ("bytes", self.bytes),
            ("errors", self.errors),
            ("refused_echoes", self.refused_echoes),
            ("accept_errors", self.accept_errors),
            ("accept_resumes", self.accept_resumes),
        ]
    }

    /// Reads the text form. Unknown names are skipped, so that a newer server
    /// can add counters; a malformed line is an error naming it.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut stats = Self::default();
        for line in text.lines().filter(|line| !line.trim().is_empty()) {
            let (name, value) = line
                .split_once(' ')
                .ok_or_else(|| format!("stats line without a value: {line:?}"))?;
            let value: u64 = value
                .trim()
                .parse()
                .map_err(|_| format!("stats line with a bad number: {line:?}"))?;
            let slot = match name {
                "opens" => &mut stats.opens,
                "closes" => &mut stats.closes,
                "open_now" => &mut stats.open_now,
                "double_closes" => &mut stats.double_closes,
                "unpaired_closes" => &mut stats.unpaired_closes,
                "messages" => &mut stats.messages,
                "bytes" => &mut stats.bytes,
                "errors" => &mut stats.errors,
                "refused_echoes" => &mut stats.refused_echoes,
                "accept_errors" => &mut stats.accept_errors,
                "accept_resumes" => &mut stats.accept_resumes,
                _ => continue,
            };
            *slot = value;
        }
        Ok(stats)
    }
}

/// The text form: `name value` lines.
impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, value) in self.fields() {
            writeln!(f, "{name} {value}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_form_round_trips() {
        let stats = Stats {
            opens: 7,
            closes: 6,
            open_now: 1,
            bytes: 1 << 40,
            ..Stats::default()
        };
        assert_eq!(Stats::parse(&stats.to_string()), Ok(stats));
    }

    #[test]
    fn unknown_names_are_skipped_and_bad_numbers_reported() {
        assert_eq!(
            Stats::parse("opens 2\nfuture 9\n"),
            Ok(Stats {
                opens: 2,
                ..Stats::default()
            })
        );
        assert!(Stats::parse("opens two\n").is_err());
        assert!(Stats::parse("opens\n").is_err());
    }
}
