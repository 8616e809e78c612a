//! Reading PDFs the way a person's tools do: with poppler's `pdftotext` (Debian's
//! `poppler-utils`, installed by `.ci/run`). The tests that read PDFs require it.

use std::process::Command;

/// One word and its box on its page, in points from the page's top left.
#[derive(Debug)]
pub struct Word {
    pub text: String,
    pub page: usize,
    pub x_min: f64,
    pub y_min: f64,
    pub x_max: f64,
    pub y_max: f64,
}

/// A page's size in points.
#[derive(Debug, Clone, Copy)]
pub struct PageSize {
    pub width: f64,
    pub height: f64,
}

fn pdftotext(pdf: &[u8], args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.pdf");
    std::fs::write(&input, pdf).unwrap();
    let output = Command::new("pdftotext")
        .args(args)
        .arg(&input)
        .arg("-")
        .output()
        .expect("pdftotext runs (apt-get install poppler-utils)");
    assert!(output.status.success(), "pdftotext failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("pdftotext writes UTF-8")
}

/// The PDF's text, lines joined by single spaces.
pub fn text(pdf: &[u8]) -> String {
    pdftotext(pdf, &[]).split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Every page's size and every word with its box (`pdftotext -bbox`).
pub fn words(pdf: &[u8]) -> (Vec<PageSize>, Vec<Word>) {
    let html = pdftotext(pdf, &["-bbox"]);
    let attr = |tag: &str, name: &str| -> f64 {
        let start = tag.find(&format!("{name}=\"")).unwrap_or_else(|| panic!("{name} in {tag}")) + name.len() + 2;
        tag[start..].split('"').next().unwrap().parse().unwrap()
    };
    let (mut pages, mut words) = (Vec::new(), Vec::new());
    for line in html.lines().map(str::trim) {
        if line.starts_with("<page ") {
            pages.push(PageSize { width: attr(line, "width"), height: attr(line, "height") });
        } else if line.starts_with("<word ") {
            let text = line.split('>').nth(1).unwrap_or("").trim_end_matches("</word").to_string();
            words.push(Word {
                text,
                page: pages.len(),
                x_min: attr(line, "xMin"),
                y_min: attr(line, "yMin"),
                x_max: attr(line, "xMax"),
                y_max: attr(line, "yMax"),
            });
        }
    }
    (pages, words)
}

/// The images the PDF draws, as `pdfimages -list` lists them: (width, height) in pixels.
pub fn images(pdf: &[u8]) -> Vec<(u32, u32)> {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.pdf");
    std::fs::write(&input, pdf).unwrap();
    let output = Command::new("pdfimages")
        .arg("-list")
        .arg(&input)
        .output()
        .expect("pdfimages runs (apt-get install poppler-utils)");
    assert!(output.status.success(), "pdfimages failed: {}", String::from_utf8_lossy(&output.stderr));
    // Two header lines, then: page num type width height …
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .skip(2)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            Some((fields.get(3)?.parse().ok()?, fields.get(4)?.parse().ok()?))
        })
        .collect()
}
