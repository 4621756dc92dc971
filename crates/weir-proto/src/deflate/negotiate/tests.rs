//! Negotiation in both roles: every combination of the four parameters,
//! the RFC 7692 section 7.1 rules for declining and failing, and hostile
//! values.

use super::*;
use crate::handshake::{format_extensions, parse_extensions};

fn parse_one(text: &str) -> ExtensionOffer {
    let mut list = parse_extensions(text.as_bytes()).expect("valid grammar");
    assert_eq!(list.len(), 1, "{text}");
    list.remove(0)
}

fn accept(offers: &str, config: &DeflateConfig) -> Option<(DeflateParams, String)> {
    let offers = parse_extensions(offers.as_bytes()).expect("valid grammar");
    accept_offer(&offers, config).map(|(params, answer)| (params, answer.to_string()))
}

#[test]
fn rfc7692_7_1_client_offers() {
    assert_eq!(
        offer(&DeflateConfig::default()).to_string(),
        "permessage-deflate; client_max_window_bits"
    );
    let all = DeflateConfig::default()
        .with_no_context_takeover(true, true)
        .with_max_window_bits(10, 8);
    assert_eq!(
        offer(&all).to_string(),
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
         server_max_window_bits=10; client_max_window_bits=8"
    );
}

#[test]
fn rfc7692_7_1_server_answers() {
    let plain = DeflateConfig::default();
    let (params, answer) = accept("permessage-deflate", &plain).unwrap();
    assert_eq!(answer, "permessage-deflate");
    assert_eq!(params, DeflateParams::default());
    // client_max_window_bits without a value only says "supported".
    let (_, answer) = accept("permessage-deflate; client_max_window_bits", &plain).unwrap();
    assert_eq!(answer, "permessage-deflate");
    // A value the client offered binds it; the answer says so.
    let (params, answer) = accept("permessage-deflate; client_max_window_bits=10", &plain).unwrap();
    assert_eq!(answer, "permessage-deflate; client_max_window_bits=10");
    assert_eq!(params.client_max_window_bits, 10);
    // The server limits the client only where the client offered the parameter.
    let small = DeflateConfig::default().with_max_window_bits(15, 9);
    let (params, answer) = accept("permessage-deflate", &small).unwrap();
    assert_eq!(
        (params.client_max_window_bits, answer.as_str()),
        (15, "permessage-deflate")
    );
    let (params, answer) = accept("permessage-deflate; client_max_window_bits", &small).unwrap();
    assert_eq!(answer, "permessage-deflate; client_max_window_bits=9");
    assert_eq!(params.client_max_window_bits, 9);
    // server_max_window_bits: the same or a smaller value, never larger.
    let (params, answer) = accept("permessage-deflate; server_max_window_bits=12", &plain).unwrap();
    assert_eq!(answer, "permessage-deflate; server_max_window_bits=12");
    assert_eq!(params.server_max_window_bits, 12);
    let limited = DeflateConfig::default().with_max_window_bits(10, 15);
    let (_, answer) = accept("permessage-deflate; server_max_window_bits=12", &limited).unwrap();
    assert_eq!(answer, "permessage-deflate; server_max_window_bits=10");
    let (_, answer) = accept("permessage-deflate", &limited).unwrap();
    assert_eq!(answer, "permessage-deflate; server_max_window_bits=10");
    // Low memory: no context takeover either way, asked or not.
    let (params, answer) = accept("permessage-deflate", &DeflateConfig::low_memory()).unwrap();
    assert_eq!(
        answer,
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
    );
    assert!(params.server_no_context_takeover && params.client_no_context_takeover);
}

#[test]
fn rfc7692_7_1_window_of_8_is_agreed_both_ways() {
    let config = DeflateConfig::default();
    let (params, answer) = accept(
        "permessage-deflate; server_max_window_bits=8; client_max_window_bits=8",
        &config,
    )
    .unwrap();
    assert_eq!(
        answer,
        "permessage-deflate; server_max_window_bits=8; client_max_window_bits=8"
    );
    assert_eq!(
        (params.server_max_window_bits, params.client_max_window_bits),
        (8, 8)
    );
    let client = DeflateConfig::default().with_max_window_bits(8, 8);
    assert_eq!(check_answer(&parse_one(&answer), &client), Ok(params));
}

#[test]
fn rfc7692_7_1_invalid_offers_are_declined_and_the_next_tried() {
    let config = DeflateConfig::default();
    for bad in [
        "permessage-deflate; x=1",
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        "permessage-deflate; client_max_window_bits; client_max_window_bits=9",
        "permessage-deflate; server_no_context_takeover=1",
        "permessage-deflate; client_no_context_takeover=true",
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; server_max_window_bits=7",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=08",
        "permessage-deflate; server_max_window_bits=-9",
        "permessage-deflate; server_max_window_bits=+9",
        "permessage-deflate; client_max_window_bits=0",
        "permessage-deflate; client_max_window_bits=99999999999999999999",
        "permessage-deflate; client_max_window_bits=abc",
        "x-webkit-deflate-frame",
    ] {
        assert_eq!(accept(bad, &config), None, "{bad}");
        // Followed by a valid offer, that one is taken.
        let list = format!("{bad}, permessage-deflate; client_max_window_bits=11");
        let (params, _) = accept(&list, &config).unwrap_or_else(|| panic!("{list}"));
        assert_eq!(params.client_max_window_bits, 11, "{list}");
    }
    // The first valid offer wins, even when a later one would suit better.
    let (params, _) = accept(
        "permessage-deflate; server_max_window_bits=10, permessage-deflate",
        &config,
    )
    .unwrap();
    assert_eq!(params.server_max_window_bits, 10);
    // Names and values are compared without regard to case; quoted values work.
    let (params, _) = accept("Permessage-Deflate; Server_Max_Window_Bits=\"9\"", &config).unwrap();
    assert_eq!(params.server_max_window_bits, 9);
}

#[test]
fn rfc7692_7_1_client_fails_on_answers_it_did_not_offer() {
    let plain = DeflateConfig::default();
    for bad in [
        "permessage-deflate; x=1",
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        "permessage-deflate; client_max_window_bits",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; client_no_context_takeover=1",
    ] {
        assert!(check_answer(&parse_one(bad), &plain).is_err(), "{bad}");
    }
    // Over the window offered.
    let small = DeflateConfig::default().with_max_window_bits(10, 9);
    for bad in [
        "permessage-deflate; server_max_window_bits=11",
        "permessage-deflate; server_max_window_bits=10; client_max_window_bits=10",
        // Asked for and missing.
        "permessage-deflate",
    ] {
        assert!(check_answer(&parse_one(bad), &small).is_err(), "{bad}");
    }
    let asks = DeflateConfig::default().with_no_context_takeover(true, false);
    assert!(check_answer(&parse_one("permessage-deflate"), &asks).is_err());
    // What a server may add unasked.
    let params = check_answer(
        &parse_one(
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
             server_max_window_bits=9; client_max_window_bits=12",
        ),
        &plain,
    )
    .unwrap();
    assert_eq!(
        params,
        DeflateParams {
            server_no_context_takeover: true,
            client_no_context_takeover: true,
            server_max_window_bits: 9,
            client_max_window_bits: 12,
        }
    );
    // A client that promised no context takeover keeps its promise.
    let promise = DeflateConfig::default().with_no_context_takeover(false, true);
    let params = check_answer(&parse_one("permessage-deflate"), &promise).unwrap();
    assert!(params.client_no_context_takeover);
}

/// Every client configuration against every server configuration: the
/// server's answer passes the client's check, both sides agree, and every
/// agreed value respects both configurations.
#[test]
fn rfc7692_7_1_every_combination_agrees() {
    let windows = [8u8, 9, 12, 15];
    let mut configs = Vec::new();
    for server_nct in [false, true] {
        for client_nct in [false, true] {
            for &server_bits in &windows {
                for &client_bits in &windows {
                    configs.push(
                        DeflateConfig::default()
                            .with_no_context_takeover(server_nct, client_nct)
                            .with_max_window_bits(server_bits, client_bits),
                    );
                }
            }
        }
    }
    for client in &configs {
        let offered = offer(client);
        let offered = parse_one(&format_extensions(&[offered]));
        for server in &configs {
            let (agreed, answer) = accept_offer(std::slice::from_ref(&offered), server)
                .expect("every valid offer is accepted");
            let answer = parse_one(&answer.to_string());
            let checked = check_answer(&answer, client)
                .unwrap_or_else(|e| panic!("{offered} / {answer}: {e}"));
            assert_eq!(checked, agreed, "{offered} / {answer}");
            assert!(agreed.server_max_window_bits <= client.server_max_window_bits);
            assert!(agreed.server_max_window_bits <= server.server_max_window_bits);
            assert!(agreed.client_max_window_bits <= client.client_max_window_bits);
            assert!(agreed.client_max_window_bits <= server.client_max_window_bits);
            let want_snct = client.server_no_context_takeover || server.server_no_context_takeover;
            assert_eq!(agreed.server_no_context_takeover, want_snct);
            let want_cnct = client.client_no_context_takeover || server.client_no_context_takeover;
            assert_eq!(agreed.client_no_context_takeover, want_cnct);
        }
    }
}

mod prop {
    use super::*;
    use proptest::prelude::*;

    fn param() -> impl Strategy<Value = (String, Option<String>)> {
        let name = prop_oneof![
            Just("server_no_context_takeover".to_owned()),
            Just("client_no_context_takeover".to_owned()),
            Just("server_max_window_bits".to_owned()),
            Just("client_max_window_bits".to_owned()),
            "[a-z_]{1,12}",
        ];
        let value = proptest::option::of(prop_oneof!["[0-9]{1,3}", "[!-~]{0,6}"]);
        (name, value)
    }

    proptest! {
        /// Hostile parameters never panic, and whatever a server answers
        /// passes a client that offered the same parameters.
        #[test]
        fn negotiation_never_panics(params in proptest::collection::vec(param(), 0..6)) {
            let mut extension = ExtensionOffer::new(EXTENSION_NAME);
            extension.params = params;
            for config in [DeflateConfig::default(), DeflateConfig::low_memory()] {
                if let Some((_, answer)) = accept_offer(std::slice::from_ref(&extension), &config) {
                    prop_assert!(check_answer(&answer, &DeflateConfig::default()).is_ok()
                        || extension.param("server_max_window_bits").is_some()
                        || extension.param("client_max_window_bits").is_some()
                        || extension.param("server_no_context_takeover").is_some());
                }
                let _ = check_answer(&extension, &config);
            }
        }
    }
}
