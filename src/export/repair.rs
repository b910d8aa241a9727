//! Repairs what a crash or a power cut leaves of a CSV: a torn last row is cut off (kept beside
//! the file), and rows of a repetition that lost some of its own can be dropped, byte for byte.

use std::fs::OpenOptions;
use std::io;
use std::path::{Path, PathBuf};

/// Makes a CSV end on a whole row, as a crash or a power cut may leave it otherwise: a last
/// row without its newline, or with fewer fields than the header, is cut off, kept beside the
/// file as `<name>.cut-<stamp>`, and named in the returned warning (its repetition then has no
/// row, and runs again). A broken row before the last one is not a cut: that is an error.
pub fn repair(path: &Path, stamp: &str) -> io::Result<Option<String>> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io::Error::new(e.kind(), format!("{}: {e}", path.display()))),
    };
    let Some(keep) = whole_rows(&bytes).map_err(|e| io::Error::other(format!("{}: {e}", path.display())))? else {
        return Ok(None);
    };
    let cut_path = PathBuf::from(format!("{}.cut-{stamp}", path.display()));
    std::fs::write(&cut_path, &bytes[keep..])?;
    let file = OpenOptions::new().write(true).open(path)?;
    file.set_len(keep as u64)?;
    file.sync_all()?;
    let row = bytes[..keep].iter().filter(|&&b| b == b'\n').count() + 1;
    Ok(Some(format!(
        "{}: line {row} was cut short (a crash or power cut while it was written); it is removed, kept in {}, and its repetition runs again",
        path.display(),
        cut_path.display()
    )))
}

/// Rewrites a CSV with only the data rows `keep` marks (the header stays), byte for byte;
/// returns how many were dropped.
pub fn keep_rows(path: &Path, keep: &[bool]) -> io::Result<usize> {
    let bytes = std::fs::read(path)?;
    let mut r = csv::ReaderBuilder::new().has_headers(false).from_reader(&bytes[..]);
    let mut rec = csv::ByteRecord::new();
    let (mut out, mut index, mut dropped) = (Vec::new(), 0usize, 0usize);
    loop {
        let start = r.position().byte() as usize;
        if !r.read_byte_record(&mut rec).map_err(io::Error::other)? {
            break;
        }
        let end = r.position().byte() as usize;
        // The first record is the header.
        let kept = start == 0 || keep.get(index).copied().unwrap_or(true);
        if start > 0 {
            index += 1;
        }
        match kept {
            true => out.extend_from_slice(&bytes[start..end]),
            false => dropped += 1,
        }
    }
    let tmp = path.with_extension("csv.tmp");
    std::fs::write(&tmp, &out)?;
    std::fs::rename(&tmp, path)?;
    Ok(dropped)
}

/// Where the whole rows of a CSV end, if something follows them; `Err` for a broken row that
/// is not the last.
fn whole_rows(bytes: &[u8]) -> Result<Option<usize>, String> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut rec = csv::ByteRecord::new();
    let (mut width, mut end, mut starts) = (None, 0usize, Vec::new());
    loop {
        let start = r.position().byte() as usize;
        match r.read_byte_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {
                starts.push((start, rec.len()));
                width.get_or_insert(rec.len());
                end = r.position().byte() as usize;
            }
            Err(e) => return Err(e.to_string()),
        }
    }
    let Some(width) = width else {
        return Ok((!bytes.is_empty()).then_some(0));
    };
    let (last_start, last_len) = *starts.last().expect("a row");
    let torn = !bytes.ends_with(b"\n") || last_len != width;
    if let Some((at, _)) = starts[..starts.len() - 1].iter().find(|(_, n)| *n != width) {
        return Err(format!("a broken row at byte {at}, not at the end: repair it by hand"));
    }
    Ok(match (torn, end == bytes.len()) {
        (true, _) => Some(last_start),
        (false, true) => None,
        (false, false) => Some(end),
    })
}
