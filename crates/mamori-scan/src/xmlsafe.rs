//! A hardened pull layer over quick-xml shared by the nmap and JVN parsers.
//!
//! No DTD processing and no entity expansion: a `<!DOCTYPE>` with an internal subset, `SYSTEM`
//! or `PUBLIC` identifier (the carrier of entity and external-inclusion attacks) is rejected;
//! only the five predefined entities and character references are resolved, any other
//! `&name;` is an error. Element depth and value sizes are bounded.

use std::io::BufRead;

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

/// Deepest element nesting accepted.
pub const XML_MAX_DEPTH: usize = 64;
/// Largest attribute value or text run kept (longer values are clipped and counted).
pub const XML_MAX_VALUE: usize = 256 * 1024;

/// A hardened XML error, always naming the input and byte position.
#[derive(Debug, thiserror::Error)]
pub enum XmlError {
    /// A DTD that could declare entities or external resources.
    #[error("{input}: rejected <!DOCTYPE> with internal subset or external identifier at byte {pos} (dtd and entity processing are disabled): {doctype:?}")]
    Dtd {
        /// Input name.
        input: String,
        /// Byte offset.
        pos: u64,
        /// The declaration (clipped).
        doctype: String,
    },
    /// A reference to an entity that is not predefined.
    #[error("{input}: undefined entity reference &{entity}; at byte {pos} (entities are never expanded)")]
    Entity {
        /// Input name.
        input: String,
        /// Byte offset.
        pos: u64,
        /// Entity name.
        entity: String,
    },
    /// Malformed XML.
    #[error("{input}: malformed xml at byte {pos}: {message}")]
    Syntax {
        /// Input name.
        input: String,
        /// Byte offset.
        pos: u64,
        /// Parser message.
        message: String,
    },
    /// Nesting deeper than [`XML_MAX_DEPTH`].
    #[error("{input}: element nesting deeper than {XML_MAX_DEPTH} at byte {pos}")]
    TooDeep {
        /// Input name.
        input: String,
        /// Byte offset.
        pos: u64,
    },
}

/// One pulled item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Item {
    /// Element start (`empty` when self-closing; no `End` follows then).
    Start {
        name: String,
        attrs: Vec<(String, String)>,
        empty: bool,
    },
    /// Element end.
    End(String),
    /// Text (references resolved; may arrive in several pieces).
    Text(String),
    /// End of input.
    Eof,
}

pub(crate) struct SafeXml<R: BufRead> {
    reader: Reader<R>,
    buf: Vec<u8>,
    input: String,
    pub(crate) depth: usize,
    pub(crate) clipped: u64,
}

fn local(name: &[u8]) -> String {
    let n = match name.iter().rposition(|&b| b == b':') {
        Some(p) => name.get(p + 1..).unwrap_or(name),
        None => name,
    };
    String::from_utf8_lossy(n).into_owned()
}

fn predefined(name: &str) -> Option<char> {
    Some(match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "quot" => '"',
        "apos" => '\'',
        _ => return None,
    })
}

impl<R: BufRead> SafeXml<R> {
    pub(crate) fn new(r: R, input: &str) -> Self {
        let mut reader = Reader::from_reader(r);
        let cfg = reader.config_mut();
        cfg.check_end_names = true;
        cfg.expand_empty_elements = false;
        SafeXml {
            reader,
            buf: Vec::with_capacity(4096),
            input: input.to_string(),
            depth: 0,
            clipped: 0,
        }
    }

    pub(crate) fn position(&self) -> u64 {
        self.reader.buffer_position()
    }

    fn syntax(&self, message: impl std::fmt::Display) -> XmlError {
        XmlError::Syntax {
            input: self.input.clone(),
            pos: self.position(),
            message: message.to_string(),
        }
    }

    fn clip(&mut self, mut s: String) -> String {
        if s.len() > XML_MAX_VALUE {
            let mut cut = XML_MAX_VALUE;
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
            s.truncate(cut);
            self.clipped += 1;
        }
        s
    }

    fn start(&mut self, e: &BytesStart<'_>) -> Result<(String, Vec<(String, String)>), XmlError> {
        let name = local(e.name().as_ref());
        let mut attrs = Vec::new();
        for a in e.attributes() {
            let a = a.map_err(|err| self.syntax(err))?;
            let key = local(a.key.as_ref());
            let value = match a.unescape_value() {
                Ok(v) => v.into_owned(),
                Err(err) => {
                    let msg = err.to_string();
                    if msg.contains("nrecognized") || msg.contains("ntity") {
                        return Err(XmlError::Entity {
                            input: self.input.clone(),
                            pos: self.position(),
                            entity: format!("(in attribute {key})"),
                        });
                    }
                    return Err(self.syntax(msg));
                }
            };
            let value = self.clip(value);
            attrs.push((key, value));
        }
        Ok((name, attrs))
    }

    /// Pull the next item.
    pub(crate) fn next_item(&mut self) -> Result<Item, XmlError> {
        loop {
            self.buf.clear();
            let ev = match self.reader.read_event_into(&mut self.buf) {
                Ok(ev) => ev.into_owned(),
                Err(e) => return Err(self.syntax(e)),
            };
            match ev {
                Event::Start(e) => {
                    if self.depth >= XML_MAX_DEPTH {
                        return Err(XmlError::TooDeep {
                            input: self.input.clone(),
                            pos: self.position(),
                        });
                    }
                    self.depth += 1;
                    let (name, attrs) = self.start(&e)?;
                    return Ok(Item::Start {
                        name,
                        attrs,
                        empty: false,
                    });
                }
                Event::Empty(e) => {
                    let (name, attrs) = self.start(&e)?;
                    return Ok(Item::Start {
                        name,
                        attrs,
                        empty: true,
                    });
                }
                Event::End(e) => {
                    self.depth = self.depth.saturating_sub(1);
                    return Ok(Item::End(local(e.name().as_ref())));
                }
                Event::Text(t) => {
                    let s = t.decode().map_err(|e| self.syntax(e))?.into_owned();
                    let s = self.clip(s);
                    return Ok(Item::Text(s));
                }
                Event::CData(t) => {
                    let s = String::from_utf8_lossy(&t.into_inner()).into_owned();
                    let s = self.clip(s);
                    return Ok(Item::Text(s));
                }
                Event::GeneralRef(r) => {
                    if r.is_char_ref() {
                        match r.resolve_char_ref() {
                            Ok(Some(c)) => return Ok(Item::Text(c.to_string())),
                            Ok(None) => {}
                            Err(e) => return Err(self.syntax(e)),
                        }
                    }
                    let name = r.decode().map_err(|e| self.syntax(e))?.into_owned();
                    match predefined(&name) {
                        Some(c) => return Ok(Item::Text(c.to_string())),
                        None => {
                            return Err(XmlError::Entity {
                                input: self.input.clone(),
                                pos: self.position(),
                                entity: name.chars().take(64).collect(),
                            })
                        }
                    }
                }
                Event::DocType(t) => {
                    let raw = String::from_utf8_lossy(&t.into_inner()).into_owned();
                    let upper = raw.to_ascii_uppercase();
                    if raw.contains('[')
                        || upper.contains("ENTITY")
                        || upper.contains("SYSTEM")
                        || upper.contains("PUBLIC")
                    {
                        return Err(XmlError::Dtd {
                            input: self.input.clone(),
                            pos: self.position(),
                            doctype: raw.chars().take(120).collect(),
                        });
                    }
                }
                Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
                Event::Eof => return Ok(Item::Eof),
            }
        }
    }
}

/// Attribute lookup helper.
pub(crate) fn attr<'a>(attrs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}
