//! The report as a PDF: A4, real text in an embedded font (DejaVu Sans, subset by krilla,
//! `assets/fonts/`), so it is selectable, searchable and prints as it shows. Long text
//! wraps within the margins and the answers flow onto as many pages as they need.
//!
//! The organization's name, in its accent colour, heads the report, with its logo at the
//! right when one was fetched (see `logo`: only public addresses, PNG or JPEG, 1 MiB).

use krilla::{
    Document,
    color::rgb,
    geom::{PathBuilder, Point, Rect, Size as Area, Transform},
    image::Image,
    metadata::Metadata,
    num::NormalizedF32,
    page::PageSettings,
    paint::Fill,
    surface::Surface,
    text::{Font, TextDirection},
};
use skrifa::{FontRef, MetadataProvider, instance::LocationRef, instance::Size};

use super::{
    Report,
    logo::{self, Kind},
    when,
};

const REGULAR: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
const BOLD: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf");

const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const MARGIN: f32 = 56.0;
const BOTTOM: f32 = PAGE_H - 64.0;
const LABEL_W: f32 = 120.0;
/// The logo's box at the top right: it is scaled to fit, keeping its proportions.
const LOGO_W: f32 = 140.0;
const LOGO_H: f32 = 40.0;
const DEFAULT_ACCENT: (u8, u8, u8) = (0x2b, 0x4c, 0x7e);
const TEXT: (u8, u8, u8) = (0x1f, 0x23, 0x28);
const MUTED: (u8, u8, u8) = (0x5c, 0x63, 0x6e);
const GOOD: (u8, u8, u8) = (0x1a, 0x7f, 0x37);
const BAD: (u8, u8, u8) = (0xb4, 0x23, 0x18);

/// The report as PDF bytes.
pub fn render(report: &Report) -> anyhow::Result<Vec<u8>> {
    let fonts = Fonts::load()?;
    let mut document = Document::new();
    let title = format!("{} — {}", report.invitation.who(), report.invitation.assessment_name);
    document.set_metadata(Metadata::new().title(title).creator(report.brand.clone()));
    let footer_text =
        format!("{} · {} · report by {}", report.organization, report.invitation.assessment_name, report.brand);
    let mut writer =
        Writer { document: &mut document, fonts: &fonts, lines: Vec::new(), y: MARGIN, pages: 0, footer_text };
    layout(report, &mut writer);
    writer.flush_page();
    document.finish().map_err(|e| anyhow::anyhow!("writing the PDF: {e:?}"))
}

fn layout(report: &Report, w: &mut Writer) {
    let inv = &report.invitation;
    let accent = report.accent.unwrap_or(DEFAULT_ACCENT);
    let mut heading_w = PAGE_W - 2.0 * MARGIN;
    if let Some(image) = report.logo.as_deref().and_then(decode) {
        let (w_px, h_px) = image.size();
        let scale = (LOGO_W / w_px.max(1) as f32).min(LOGO_H / h_px.max(1) as f32);
        let (width, height) = (w_px as f32 * scale, h_px as f32 * scale);
        if let Some(size) = Area::from_wh(width, height) {
            w.lines.push(Item::Image { x: PAGE_W - MARGIN - width, y: MARGIN - 4.0, image, size });
            heading_w -= LOGO_W + 12.0;
        }
    }
    w.paragraph(&report.organization, MARGIN, heading_w, Style::new(true, 18.0, accent));
    w.paragraph("Assessment report", MARGIN, PAGE_W - 2.0 * MARGIN, Style::new(false, 10.0, MUTED));
    w.rule(accent);
    w.gap(8.0);
    let heading = format!("{}: {}", inv.who(), inv.assessment_name);
    w.paragraph(&heading, MARGIN, PAGE_W - 2.0 * MARGIN, Style::new(true, 15.0, TEXT));
    w.gap(6.0);

    let result_colour = match report.result {
        "Passed" => GOOD,
        "Failed" | "Expired" => BAD,
        _ => TEXT,
    };
    let score = match inv.score {
        Some(s) => format!("{s} / 100 (pass mark {})", inv.pass_mark),
        None => format!("— (pass mark {})", inv.pass_mark),
    };
    let candidate = match (inv.candidate_name.trim(), inv.candidate_email.trim()) {
        (_, "") | ("", _) => inv.who().to_string(),
        (name, email) => format!("{name} <{email}>"),
    };
    w.fact("Candidate", &candidate, TEXT);
    w.fact("Assessment", &inv.assessment_name, TEXT);
    w.fact("Result", report.result, result_colour);
    w.fact("Score", &score, TEXT);
    if let Some(reason) = inv.failure_reason.as_deref().filter(|r| !r.trim().is_empty()) {
        w.fact("Failure reason", reason, TEXT);
    }
    w.fact("Invited", &when(Some(inv.created_at)), TEXT);
    w.fact("Started", &when(inv.started_at), TEXT);
    w.fact("Submitted", &when(inv.completed_at), TEXT);
    if let Some(taken) = report.time_taken() {
        w.fact("Time taken", &taken, TEXT);
    }
    w.fact("Lever opportunity", &inv.opportunity_id, TEXT);
    if let Some(url) = &inv.external_report_url {
        w.fact("Engine report", url, TEXT);
    }

    if !report.answers.is_empty() {
        w.gap(10.0);
        w.paragraph("Answers", MARGIN, PAGE_W - 2.0 * MARGIN, Style::new(true, 13.0, accent));
        w.rule(accent);
        let right = report.answers.iter().filter(|a| a.correct).count();
        let summary = format!("{right} of {} answered correctly.", report.answers.len());
        w.paragraph(&summary, MARGIN, PAGE_W - 2.0 * MARGIN, Style::new(false, 10.0, MUTED));
        for answer in &report.answers {
            w.gap(6.0);
            // Keep a question's first lines together with its number.
            w.keep(40.0);
            let prompt = format!("{}. {}", answer.number, answer.prompt);
            w.paragraph(&prompt, MARGIN, PAGE_W - 2.0 * MARGIN, Style::new(true, 10.5, TEXT));
            let (mark, colour) = if answer.correct { ("correct", GOOD) } else { ("wrong", BAD) };
            w.fact(&format!("Chosen ({mark})"), &answer.chosen, colour);
            w.fact("Right answer", &answer.right_answer, TEXT);
        }
    }
}

struct Fonts {
    regular: Font,
    bold: Font,
    regular_ref: FontRef<'static>,
    bold_ref: FontRef<'static>,
}

impl Fonts {
    fn load() -> anyhow::Result<Self> {
        let font = |bytes: &'static [u8]| Font::new(bytes.into(), 0).ok_or_else(|| anyhow::anyhow!("a bad font"));
        Ok(Self {
            regular: font(REGULAR)?,
            bold: font(BOLD)?,
            regular_ref: FontRef::new(REGULAR)?,
            bold_ref: FontRef::new(BOLD)?,
        })
    }

    /// The advance width of `text` at `size`, without kerning (which only narrows it).
    fn width(&self, text: &str, bold: bool, size: f32) -> f32 {
        let font = if bold { &self.bold_ref } else { &self.regular_ref };
        let metrics = font.glyph_metrics(Size::new(size), LocationRef::default());
        let charmap = font.charmap();
        text.chars().map(|c| charmap.map(c).and_then(|g| metrics.advance_width(g)).unwrap_or(size * 0.6)).sum()
    }
}

#[derive(Clone, Copy)]
struct Style {
    bold: bool,
    size: f32,
    colour: (u8, u8, u8),
}

impl Style {
    fn new(bold: bool, size: f32, colour: (u8, u8, u8)) -> Self {
        Self { bold, size, colour }
    }

    fn leading(self) -> f32 {
        self.size * 1.35
    }
}

/// What one page holds until it is written out.
enum Item {
    Text { x: f32, y: f32, text: String, style: Style },
    Rule { y: f32, colour: (u8, u8, u8) },
    Image { x: f32, y: f32, image: Image, size: Area },
}

/// The logo as an image krilla can draw, when its bytes are a PNG or JPEG it can read.
fn decode(bytes: &[u8]) -> Option<Image> {
    let data = bytes.to_vec().into();
    match logo::kind(bytes)? {
        Kind::Png => Image::from_png(data, true).ok(),
        Kind::Jpeg => Image::from_jpeg(data, true).ok(),
    }
}

struct Writer<'a> {
    document: &'a mut Document,
    fonts: &'a Fonts,
    lines: Vec<Item>,
    /// The top of the next line.
    y: f32,
    pages: usize,
    footer_text: String,
}

impl Writer<'_> {
    fn gap(&mut self, h: f32) {
        self.y += h;
    }

    /// Starts a new page unless `h` more points fit on this one.
    fn keep(&mut self, h: f32) {
        if self.y + h > BOTTOM {
            self.flush_page();
        }
    }

    fn paragraph(&mut self, text: &str, x: f32, width: f32, style: Style) {
        for line in wrap(self.fonts, text, width, style) {
            self.keep(style.leading());
            self.lines.push(Item::Text { x, y: self.y + style.size, text: line, style });
            self.y += style.leading();
        }
    }

    /// A label and its value beside it, the value wrapping in its own column.
    fn fact(&mut self, label: &str, value: &str, colour: (u8, u8, u8)) {
        let label_style = Style::new(true, 9.5, MUTED);
        let value_style = Style::new(false, 10.0, colour);
        let lines = wrap(self.fonts, value, PAGE_W - 2.0 * MARGIN - LABEL_W, value_style);
        self.keep(value_style.leading());
        let label_lines = wrap(self.fonts, label, LABEL_W - 8.0, label_style);
        let top = self.y;
        for (i, line) in label_lines.into_iter().enumerate() {
            let y = top + value_style.size + i as f32 * label_style.leading();
            self.lines.push(Item::Text { x: MARGIN, y, text: line, style: label_style });
        }
        for line in lines {
            self.keep(value_style.leading());
            self.lines.push(Item::Text {
                x: MARGIN + LABEL_W,
                y: self.y + value_style.size,
                text: line,
                style: value_style,
            });
            self.y += value_style.leading();
        }
        self.y += 2.0;
    }

    fn rule(&mut self, colour: (u8, u8, u8)) {
        self.keep(4.0);
        self.lines.push(Item::Rule { y: self.y + 1.0, colour });
        self.y += 4.0;
    }

    fn flush_page(&mut self) {
        let items = std::mem::take(&mut self.lines);
        let number = self.pages + 1;
        self.pages = number;
        let settings = PageSettings::from_wh(PAGE_W, PAGE_H).expect("A4 is a valid page size");
        let mut page = self.document.start_page_with(settings);
        let mut surface = page.surface();
        for item in items {
            draw(&mut surface, self.fonts, item);
        }
        let footer = format!("{} · page {number}", self.footer_text);
        let style = Style::new(false, 8.0, MUTED);
        let footer = wrap(self.fonts, &footer, PAGE_W - 2.0 * MARGIN, style).into_iter().next().unwrap_or_default();
        draw(&mut surface, self.fonts, Item::Text { x: MARGIN, y: PAGE_H - 36.0, text: footer, style });
        surface.finish();
        page.finish();
        self.y = MARGIN;
    }
}

fn draw(surface: &mut Surface<'_>, fonts: &Fonts, item: Item) {
    let fill = |(r, g, b): (u8, u8, u8)| Fill {
        paint: rgb::Color::new(r, g, b).into(),
        opacity: NormalizedF32::ONE,
        rule: Default::default(),
    };
    match item {
        Item::Text { x, y, text, style } => {
            surface.set_fill(Some(fill(style.colour)));
            let font = if style.bold { fonts.bold.clone() } else { fonts.regular.clone() };
            surface.draw_text(Point::from_xy(x, y), font, style.size, &text, false, TextDirection::LeftToRight);
        }
        Item::Image { x, y, image, size } => {
            surface.push_transform(&Transform::from_translate(x, y));
            surface.draw_image(image, size);
            surface.pop();
        }
        Item::Rule { y, colour } => {
            let mut path = PathBuilder::new();
            if let Some(rect) = Rect::from_xywh(MARGIN, y, PAGE_W - 2.0 * MARGIN, 1.2) {
                path.push_rect(rect);
            }
            if let Some(path) = path.finish() {
                surface.set_fill(Some(fill(colour)));
                surface.draw_path(&path);
            }
        }
    }
}

/// Splits `text` into lines no wider than `width`: at spaces where it can, inside a word
/// only when the word alone is too wide. Control characters become spaces.
fn wrap(fonts: &Fonts, text: &str, width: f32, style: Style) -> Vec<String> {
    let clean: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let fits = |s: &str| fonts.width(s, style.bold, style.size) <= width;
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in clean.split_whitespace() {
        let candidate = if line.is_empty() { word.to_string() } else { format!("{line} {word}") };
        if fits(&candidate) {
            line = candidate;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        // A word wider than the line is cut where it must be.
        for c in word.chars() {
            line.push(c);
            if !fits(&line) {
                line.pop();
                lines.push(std::mem::take(&mut line));
                line.push(c);
            }
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_stay_within_their_width() {
        let fonts = Fonts::load().unwrap();
        let style = Style::new(false, 10.0, TEXT);
        let text = format!("{} {}", "word ".repeat(80), "x".repeat(300));
        let lines = wrap(&fonts, &text, 200.0, style);
        assert!(lines.len() > 5);
        assert!(lines.iter().all(|l| fonts.width(l, false, 10.0) <= 200.0), "{lines:?}");
        assert_eq!(lines.concat().replace(' ', ""), text.replace(' ', ""), "nothing is lost");
        assert_eq!(wrap(&fonts, "", 200.0, style), vec![String::new()]);
    }
}
