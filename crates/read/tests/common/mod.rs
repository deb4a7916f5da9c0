//! What the reader's tests share: an input read into its layout and items as text.

use std::ops::ControlFlow;

use jetlag_read::{Item, Layout, read_slice};

/// The layout and (line, what) for every item — the JSON text, `csv:` + fields, or
/// `bad:` + reason — or the error.
pub fn read(body: &[u8]) -> Result<(Layout, Vec<(u64, String)>), String> {
    let mut out = Vec::new();
    let layout = read_slice("t", body, |raw| {
        let what = match raw.item {
            Item::Json(b) => String::from_utf8_lossy(b).into_owned(),
            Item::CsvHeader(r) | Item::CsvRow(r) => {
                let fields: Vec<_> = r
                    .iter()
                    .map(|f| String::from_utf8_lossy(f).into_owned())
                    .collect();
                format!("csv:{}", fields.join("|"))
            }
            Item::Malformed(reason) => format!("bad:{reason}"),
        };
        out.push((raw.line, what));
        ControlFlow::Continue(())
    })
    .map_err(|e| e.to_string())?;
    Ok((layout, out))
}
