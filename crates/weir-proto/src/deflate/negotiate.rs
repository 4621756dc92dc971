//! Negotiation of permessage-deflate (RFC 7692 section 7.1), both roles.
//!
//! - [`offer`]: the client's offer from its [`DeflateConfig`].
//! - [`accept_offer`]: the server tries the client's offers in order and
//!   answers the first valid one; an offer with an unknown, repeated or
//!   invalid parameter is declined (section 7.1: "a server MUST decline an
//!   extension negotiation offer" it cannot accept as valid).
//! - [`check_answer`]: the client checks the server's answer against what it
//!   offered and fails the handshake on anything else (section 7.1: "the
//!   client MUST _Fail the WebSocket Connection_").
//!
//! Parameters are read into a fixed struct: nothing here allocates beyond the
//! already bounded header, and no value can panic.

use super::{DeflateConfig, DeflateParams, EXTENSION_NAME, WINDOW_BITS};
use crate::handshake::ExtensionOffer;

const SERVER_NO_CONTEXT_TAKEOVER: &str = "server_no_context_takeover";
const CLIENT_NO_CONTEXT_TAKEOVER: &str = "client_no_context_takeover";
const SERVER_MAX_WINDOW_BITS: &str = "server_max_window_bits";
const CLIENT_MAX_WINDOW_BITS: &str = "client_max_window_bits";

/// The parameters of one offer or answer, each seen at most once.
#[derive(Debug, Default, PartialEq, Eq)]
struct Parameters {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    /// `Some(None)`: present without a value (allowed in an offer only).
    client_max_window_bits: Option<Option<u8>>,
}

/// Reads the parameters of a permessage-deflate offer or answer.
fn parse(extension: &ExtensionOffer) -> Result<Parameters, String> {
    let mut parsed = Parameters::default();
    let mut seen = [false; 4];
    for (name, value) in &extension.params {
        let index = [
            SERVER_NO_CONTEXT_TAKEOVER,
            CLIENT_NO_CONTEXT_TAKEOVER,
            SERVER_MAX_WINDOW_BITS,
            CLIENT_MAX_WINDOW_BITS,
        ]
        .iter()
        .position(|known| name.eq_ignore_ascii_case(known))
        .ok_or_else(|| format!("unknown parameter {name:?}"))?;
        if std::mem::replace(&mut seen[index], true) {
            return Err(format!("parameter {name} appears twice"));
        }
        match index {
            0 | 1 => {
                if value.is_some() {
                    return Err(format!("parameter {name} takes no value"));
                }
                if index == 0 {
                    parsed.server_no_context_takeover = true;
                } else {
                    parsed.client_no_context_takeover = true;
                }
            }
            2 => {
                let value = value
                    .as_deref()
                    .ok_or_else(|| format!("{name} needs a value"))?;
                parsed.server_max_window_bits = Some(window_bits(name, value)?);
            }
            _ => {
                let bits = value.as_deref().map(|v| window_bits(name, v)).transpose()?;
                parsed.client_max_window_bits = Some(bits);
            }
        }
    }
    Ok(parsed)
}

/// Section 7.1.2.1: "a decimal integer value without leading zeros between
/// 8 to 15, inclusive".
fn window_bits(name: &str, value: &str) -> Result<u8, String> {
    let bad = || format!("{name}={value:?} is not a decimal from 8 to 15");
    if value.len() > 2 || value.starts_with('0') || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let bits: u8 = value.parse().map_err(|_| bad())?;
    if WINDOW_BITS.contains(&bits) {
        Ok(bits)
    } else {
        Err(bad())
    }
}

/// The client's offer: `permessage-deflate` with the parameters `config`
/// asks for, and always `client_max_window_bits` (with a value when below
/// 15), which tells the server it may limit the client's window.
pub(crate) fn offer(config: &DeflateConfig) -> ExtensionOffer {
    let mut offer = ExtensionOffer::new(EXTENSION_NAME);
    if config.server_no_context_takeover {
        offer = offer.with_param(SERVER_NO_CONTEXT_TAKEOVER, None);
    }
    if config.client_no_context_takeover {
        offer = offer.with_param(CLIENT_NO_CONTEXT_TAKEOVER, None);
    }
    if config.server_max_window_bits < 15 {
        let bits = config.server_max_window_bits.to_string();
        offer = offer.with_param(SERVER_MAX_WINDOW_BITS, Some(&bits));
    }
    let bits = config.client_max_window_bits.to_string();
    let value = (config.client_max_window_bits < 15).then_some(bits.as_str());
    offer.with_param(CLIENT_MAX_WINDOW_BITS, value)
}

/// Server side: the first permessage-deflate offer in `offers` that is valid,
/// as agreed parameters and the answer to send; `None` declines them all.
pub(crate) fn accept_offer(
    offers: &[ExtensionOffer],
    config: &DeflateConfig,
) -> Option<(DeflateParams, ExtensionOffer)> {
    offers
        .iter()
        .filter(|offer| offer.name.eq_ignore_ascii_case(EXTENSION_NAME))
        .find_map(|offer| parse(offer).ok())
        .map(|offered| answer(&offered, config))
}

/// The server's answer to a valid offer.
fn answer(offered: &Parameters, config: &DeflateConfig) -> (DeflateParams, ExtensionOffer) {
    let mut answer = ExtensionOffer::new(EXTENSION_NAME);
    // 7.1.1.1: accepting server_no_context_takeover means answering with it;
    // a server may also answer with it unasked.
    let server_no_context_takeover =
        offered.server_no_context_takeover || config.server_no_context_takeover;
    if server_no_context_takeover {
        answer = answer.with_param(SERVER_NO_CONTEXT_TAKEOVER, None);
    }
    // 7.1.1.2: the server may require client_no_context_takeover unasked.
    let client_no_context_takeover =
        offered.client_no_context_takeover || config.client_no_context_takeover;
    if client_no_context_takeover {
        answer = answer.with_param(CLIENT_NO_CONTEXT_TAKEOVER, None);
    }
    // 7.1.2.1: the answer carries the same or a smaller value than offered,
    // and a server may limit its own window unasked.
    let server_bits = config
        .server_max_window_bits
        .min(offered.server_max_window_bits.unwrap_or(15));
    if offered.server_max_window_bits.is_some() || server_bits < 15 {
        let bits = server_bits.to_string();
        answer = answer.with_param(SERVER_MAX_WINDOW_BITS, Some(&bits));
    }
    // 7.1.2.2: only when offered; a value offered binds the client anyway.
    let client_bits = match offered.client_max_window_bits {
        None => 15,
        Some(hint) => {
            let bits = config.client_max_window_bits.min(hint.unwrap_or(15));
            if hint.is_some() || bits < 15 {
                let value = bits.to_string();
                answer = answer.with_param(CLIENT_MAX_WINDOW_BITS, Some(&value));
            }
            bits
        }
    };
    let params = DeflateParams {
        server_no_context_takeover,
        client_no_context_takeover,
        server_max_window_bits: server_bits,
        client_max_window_bits: client_bits,
    };
    (params, answer)
}

/// Client side: checks the server's permessage-deflate answer against the
/// offer made from `config`, and returns the agreed parameters.
pub(crate) fn check_answer(
    answer: &ExtensionOffer,
    config: &DeflateConfig,
) -> Result<DeflateParams, String> {
    let answered = parse(answer)?;
    if config.server_no_context_takeover && !answered.server_no_context_takeover {
        return Err(format!(
            "the answer lacks the {SERVER_NO_CONTEXT_TAKEOVER} asked for"
        ));
    }
    let server_bits = match answered.server_max_window_bits {
        Some(bits) if bits > config.server_max_window_bits => {
            return Err(format!(
                "{SERVER_MAX_WINDOW_BITS}={bits} is over the {} offered",
                config.server_max_window_bits
            ))
        }
        Some(bits) => bits,
        None if config.server_max_window_bits < 15 => {
            return Err(format!(
                "the answer lacks the {SERVER_MAX_WINDOW_BITS} asked for"
            ))
        }
        None => 15,
    };
    let client_bits = match answered.client_max_window_bits {
        None => config.client_max_window_bits,
        Some(None) => {
            return Err(format!(
                "{CLIENT_MAX_WINDOW_BITS} in an answer needs a value"
            ))
        }
        Some(Some(bits)) if bits > config.client_max_window_bits => {
            return Err(format!(
                "{CLIENT_MAX_WINDOW_BITS}={bits} is over the {} offered",
                config.client_max_window_bits
            ))
        }
        Some(Some(bits)) => bits,
    };
    Ok(DeflateParams {
        server_no_context_takeover: answered.server_no_context_takeover,
        client_no_context_takeover: answered.client_no_context_takeover
            || config.client_no_context_takeover,
        server_max_window_bits: server_bits,
        client_max_window_bits: client_bits,
    })
}

#[cfg(test)]
mod tests;
