//! Event sinks of the CLI: JSON lines to a file or standard output.

use std::io::{self, BufWriter, Write};
use std::path::Path;

use mamori_core::Event;

/// Writes one ECS JSON object per line.
pub struct JsonLines {
    w: Box<dyn Write>,
    /// Reused line buffer.
    line: Vec<u8>,
}

impl JsonLines {
    pub fn to_path(path: &Path) -> io::Result<JsonLines> {
        let f = std::fs::File::create(path)?;
        Ok(JsonLines {
            w: Box::new(BufWriter::with_capacity(1 << 20, f)),
            line: Vec::with_capacity(1024),
        })
    }

    pub fn to_stdout() -> JsonLines {
        JsonLines {
            w: Box::new(BufWriter::with_capacity(1 << 16, io::stdout().lock())),
            line: Vec::with_capacity(1024),
        }
    }

    pub fn write(&mut self, ev: &Event) -> io::Result<()> {
        self.line.clear();
        ev.write_json(&mut self.line);
        self.line.push(b'\n');
        self.w.write_all(&self.line)?;
        Ok(())
    }

    pub fn finish(mut self) -> io::Result<()> {
        self.w.flush()
    }
}
