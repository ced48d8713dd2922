//! Renders the main screens of the demo fleet through the real view into a 120x35 test
//! terminal, driven by the real key map and reducer, and writes each screen as an SVG to
//! `screenshots/<name>.svg`. Run: `cargo run --example screenshots` (an argument changes
//! the output directory).

use anyhow::{Context, bail};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};
use roster::config;
use roster::demo::Demo;
use roster::fix::apply::{ApplySession, apply};
use roster::fix::audit::Audit;
use roster::fix::cli::context_with;
use roster::fix::cluster::{PlanOptions, plan_cluster};
use roster::fix::plan::Destination;
use roster::fix::undo::{AppliedFix, plan_undo};
use roster::gather::gather;
use roster::report::CheckResult;
use roster::tui::action::{Action, Effect};
use roster::tui::demo_data::{
    DEMO_DIR, demo_result, demo_with_broken_inventory, demo_with_live_switchover,
};
use roster::tui::fixer::preview;
use roster::tui::state::{Options, RowId, State};
use roster::tui::theme::ThemeKind;
use roster::tui::{keys, update::update, view::draw};
use std::fmt::Write as _;
use std::path::PathBuf;

const SIZE: (u16, u16) = (120, 35);
/// Cell geometry in SVG pixels; 0.6 em is the advance of common monospace fonts.
const CELL_W: f64 = 9.0;
const CELL_H: f64 = 18.0;
const FONT_SIZE: f64 = 15.0;
const PAD: f64 = 10.0;

/// The dark terminal palette the screenshots use.
const DEFAULT_FG: &str = "#c5c8c6";
const DEFAULT_BG: &str = "#1d1f21";
const ANSI: [&str; 16] = [
    "#282a2e", "#e06c75", "#98c379", "#e5c07b", "#61afef", "#c678dd", "#56b6c2", "#abb2bf",
    "#5c6370", "#ff7b86", "#b5e890", "#ffd68a", "#8cc8ff", "#de9bf0", "#7fd8e3", "#ffffff",
];

fn main() -> anyhow::Result<()> {
    let out = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("screenshots"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    // Each screen gets its own read: a CheckResult is not Clone, and a read takes ms.
    let demo = || rt.block_on(demo_result());

    let mut screens: Vec<(&str, Buffer)> = Vec::new();

    let s = state(demo()?);
    screens.push(("tree", render(&s)?));

    // As the UI starts: empty while reading, then the first read opens on the drift.
    let mut s = state(CheckResult::new(Default::default(), Vec::new()));
    update(&mut s, Action::Data(Box::new(demo()?)));
    screens.push(("first_screen", render(&s)?));

    press(&mut s, "F");
    screens.push(("findings_list", render(&s)?));

    // A session in which the inventory broke and came back: the events pane.
    let mut s = state(demo()?);
    let t0 = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
    update(&mut s, Action::Tick(t0));
    update(
        &mut s,
        Action::Data(Box::new(rt.block_on(demo_with_broken_inventory())?)),
    );
    update(
        &mut s,
        Action::Tick(t0 + std::time::Duration::from_secs(95)),
    );
    update(&mut s, Action::Data(Box::new(demo()?)));
    press(&mut s, "e");
    screens.push(("events", render(&s)?));

    let mut s = state(demo()?);
    // pg-src-2: a role mismatch plus a half-rewritten registration.
    select(&mut s, "pg-src/pg-src-2")?;
    press(&mut s, "l");
    screens.push(("instance", render(&s)?));

    let mut s = state(demo()?);
    press(&mut s, "/role:primary\n");
    screens.push(("filter", render(&s)?));

    let mut s = state(demo()?);
    press(&mut s, "d");
    screens.push(("drift_only", render(&s)?));

    let mut s = state(demo()?);
    press(&mut s, "?");
    screens.push(("help", render(&s)?));

    let s = state(rt.block_on(demo_with_broken_inventory())?);
    screens.push(("source_error", render(&s)?));

    let mut s = state(rt.block_on(demo_with_live_switchover())?);
    press(&mut s, ":failover pg-web\n");
    screens.push(("failover", render(&s)?));

    // The confirmation dialog with a real plan: pg-test-1's target group after the failover.
    let mut s = State::new(
        demo()?,
        Options {
            read_only: false,
            theme: ThemeKind::Dark,
            size: SIZE,
        },
    );
    select(&mut s, "pg-test/pg-test-1")?;
    let plan_id = match press_effects(&mut s, "r").first() {
        Some(Effect::PlanFix { plan_id, .. }) => *plan_id,
        _ => bail!("r did not ask for a plan"),
    };
    let (lines, resolves) = rt.block_on(fix_preview("pg-test", "pg-test-1"))?;
    let writes = lines
        .iter()
        .filter(|l| l.starts_with(|c: char| c.is_ascii_digit()))
        .count();
    update(
        &mut s,
        Action::FixPreview {
            plan_id,
            lines,
            writes,
            error: None,
            risks: Vec::new(),
            resolves,
            creates: Vec::new(),
        },
    );
    screens.push(("fix_dialog", render(&s)?));

    // The undo of that fix, from its event: the fix applied to a live demo, then `u`.
    let (lines, creates) = rt.block_on(undo_preview("pg-test", "pg-test-1"))?;
    let mut s = State::new(
        demo()?,
        Options {
            read_only: false,
            theme: ThemeKind::Dark,
            size: SIZE,
        },
    );
    select(&mut s, "pg-test/pg-test-1")?;
    let applied = match press_effects(&mut s, "r").first() {
        Some(Effect::PlanFix { plan_id, .. }) => *plan_id,
        _ => bail!("r did not ask for a plan"),
    };
    update(
        &mut s,
        Action::FixApplied {
            plan_id: applied,
            wrote: true,
            ok: true,
            lines: vec![format!("ok   file {DEMO_DIR}/targets/pg-test.yml: written")],
        },
    );
    update(&mut s, Action::FixClose);
    press(&mut s, "e");
    let plan_id = match press_effects(&mut s, "u").first() {
        Some(Effect::PlanUndo { plan_id, .. }) => *plan_id,
        _ => bail!("u did not ask for an undo plan"),
    };
    update(
        &mut s,
        Action::FixPreview {
            plan_id,
            lines,
            writes: 1,
            error: None,
            risks: Vec::new(),
            resolves: Vec::new(),
            creates,
        },
    );
    screens.push(("undo_dialog", render(&s)?));

    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    for (name, buf) in &screens {
        let path = out.join(format!("{name}.svg"));
        std::fs::write(&path, to_svg(buf))
            .with_context(|| format!("writing {}", path.display()))?;
        println!("{}", path.display());
    }
    Ok(())
}

fn state(result: CheckResult) -> State {
    State::new(
        result,
        Options {
            read_only: true,
            theme: ThemeKind::Dark,
            size: SIZE,
        },
    )
}

/// Plans the targets fix of `instance` against a live demo, as the UI does, with the
/// demo's temporary directory written as `/demo` so the picture does not change.
async fn fix_preview(
    cluster: &str,
    instance: &str,
) -> anyhow::Result<(Vec<String>, Vec<roster::drift::Finding>)> {
    let demo = Demo::start().await?;
    let settings = config::resolve(&demo.source_args(), &|_| None)?;
    let g = gather(&settings).await;
    let fleet = g.fleet;
    let ctx = context_with(&settings, None, None, None).map_err(anyhow::Error::msg)?;
    let plan = plan_cluster(
        &fleet,
        cluster,
        Some(&[instance.to_string()]),
        Destination::Targets,
        None,
        &ctx,
        &PlanOptions {
            override_split_brain: true,
            ..PlanOptions::default()
        },
    )
    .await?;
    let tmp = demo
        .targets_dir()
        .parent()
        .context("demo directory")?
        .display()
        .to_string();
    let lines = preview(&plan)
        .into_iter()
        .map(|l| l.replace(&tmp, DEMO_DIR))
        .collect();
    demo.stop().await;
    let resolves = plan.outcome.map(|o| o.resolves).unwrap_or_default();
    Ok((lines, resolves))
}

/// Applies the targets fix of `instance` to a live demo and plans its undo as the UI
/// does, with the demo's directory written as `/demo` and the time fixed, so the picture
/// does not change from run to run.
async fn undo_preview(
    cluster: &str,
    instance: &str,
) -> anyhow::Result<(Vec<String>, Vec<roster::drift::Finding>)> {
    let demo = Demo::start().await?;
    let settings = config::resolve(&demo.source_args(), &|_| None)?;
    let fleet = gather(&settings).await.fleet;
    let ctx = context_with(&settings, None, None, None).map_err(anyhow::Error::msg)?;
    let plan = plan_cluster(
        &fleet,
        cluster,
        Some(&[instance.to_string()]),
        Destination::Targets,
        None,
        &ctx,
        &PlanOptions::default(),
    )
    .await?;
    let dir = tempfile::tempdir()?;
    let audit = Audit::new(dir.path().join("audit.log"));
    let report = apply(&plan, &ctx, &audit, &mut ApplySession::default()).await;
    if !report.ok() {
        bail!("the fix was not applied: {:?}", report.results);
    }
    let mut applied = AppliedFix::from_report(&plan, &report, std::time::SystemTime::now());
    applied.time = "2026-11-30T03:12:07Z".into();
    let fleet = gather(&settings).await.fleet;
    let undo = plan_undo(&applied, &fleet, &ctx).await?;
    let tmp = demo
        .targets_dir()
        .parent()
        .context("demo directory")?
        .display()
        .to_string();
    let lines = preview(&undo)
        .into_iter()
        .map(|l| l.replace(&tmp, DEMO_DIR))
        .collect();
    demo.stop().await;
    let creates = undo.outcome.map(|o| o.creates).unwrap_or_default();
    Ok((lines, creates))
}

/// Like [`press`], returning the effects.
fn press_effects(state: &mut State, keys: &str) -> Vec<Effect> {
    let mut effects = Vec::new();
    for c in keys.chars() {
        if let Some(a) = keys::map(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE), state) {
            effects.extend(update(state, a));
        }
    }
    effects
}

/// Sends keys the way the event loop does: map, then reduce.
fn press(state: &mut State, keys: &str) {
    for c in keys.chars() {
        let code = match c {
            '\n' => KeyCode::Enter,
            '\u{1b}' => KeyCode::Esc,
            '\t' => KeyCode::Tab,
            c => KeyCode::Char(c),
        };
        if let Some(a) = keys::map(KeyEvent::new(code, KeyModifiers::NONE), state) {
            update(state, a);
        }
    }
}

/// Moves down with `j` until an instance is selected, so the screen does not depend on
/// how many rows come before it.
fn select(state: &mut State, key: &str) -> anyhow::Result<()> {
    let want = RowId::Instance(key.to_string());
    for _ in 0..=state.rows.len() {
        if state.selected_id().as_ref() == Some(&want) {
            return Ok(());
        }
        press(state, "j");
    }
    bail!("{key} is not in the tree")
}

fn render(state: &State) -> anyhow::Result<Buffer> {
    let (w, h) = state.size;
    let mut terminal = Terminal::new(TestBackend::new(w, h)).context("test terminal")?;
    terminal.draw(|f| draw(f, state)).context("drawing")?;
    Ok(terminal.backend().buffer().clone())
}

/// The colour of a cell as it would show on the dark palette.
fn colour(c: Color, default: &'static str) -> String {
    let named = |i: usize| ANSI[i].to_string();
    match c {
        Color::Reset => default.to_string(),
        Color::Black => named(0),
        Color::Red => named(1),
        Color::Green => named(2),
        Color::Yellow => named(3),
        Color::Blue => named(4),
        Color::Magenta => named(5),
        Color::Cyan => named(6),
        Color::Gray => named(7),
        Color::DarkGray => named(8),
        Color::LightRed => named(9),
        Color::LightGreen => named(10),
        Color::LightYellow => named(11),
        Color::LightBlue => named(12),
        Color::LightMagenta => named(13),
        Color::LightCyan => named(14),
        Color::White => named(15),
        Color::Rgb(r, g, b) => format!("#{r:02x}{g:02x}{b:02x}"),
        Color::Indexed(i) => indexed(i),
    }
}

/// xterm's 256-colour table: 16 named, a 6x6x6 cube, 24 greys.
fn indexed(i: u8) -> String {
    match i {
        0..=15 => ANSI[usize::from(i)].to_string(),
        16..=231 => {
            let n = i - 16;
            let level = |v: u8| if v == 0 { 0 } else { 55 + v * 40 };
            let (r, g, b) = (level(n / 36), level((n / 6) % 6), level(n % 6));
            format!("#{r:02x}{g:02x}{b:02x}")
        }
        232..=255 => {
            let v = 8 + (i - 232) * 10;
            format!("#{v:02x}{v:02x}{v:02x}")
        }
    }
}

/// How one cell looks once reverse video is applied.
#[derive(Clone, PartialEq, Eq)]
struct Look {
    fg: String,
    bg: String,
    bold: bool,
    dim: bool,
    italic: bool,
    underline: bool,
}

fn look(cell: &ratatui::buffer::Cell) -> Look {
    let mut fg = colour(cell.fg, DEFAULT_FG);
    let mut bg = colour(cell.bg, DEFAULT_BG);
    if cell.modifier.contains(Modifier::REVERSED) {
        std::mem::swap(&mut fg, &mut bg);
    }
    Look {
        fg,
        bg,
        bold: cell.modifier.contains(Modifier::BOLD),
        dim: cell.modifier.contains(Modifier::DIM),
        italic: cell.modifier.contains(Modifier::ITALIC),
        underline: cell.modifier.contains(Modifier::UNDERLINED),
    }
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            // Control characters are not allowed in XML; the view never draws them anyway.
            c if c.is_control() => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

/// The buffer as an SVG: one rectangle per run of background colour, one `<text>` per run
/// of equal style, each stretched to exactly its cells so the grid holds in any font.
fn to_svg(buf: &Buffer) -> String {
    let area = buf.area;
    let width = f64::from(area.width) * CELL_W + 2.0 * PAD;
    let height = f64::from(area.height) * CELL_H + 2.0 * PAD;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" xml:space="preserve">"#
    );
    let _ = writeln!(
        svg,
        r#"<style>text{{font-family:"DejaVu Sans Mono","Menlo","Consolas","Liberation Mono",monospace;font-size:{FONT_SIZE}px}}</style>"#
    );
    let _ = writeln!(
        svg,
        r#"<rect width="{width}" height="{height}" rx="6" fill="{DEFAULT_BG}"/>"#
    );
    for y in 0..area.height {
        let cells: Vec<Look> = (0..area.width).map(|x| look(&buf[(x, y)])).collect();
        let top = PAD + f64::from(y) * CELL_H;
        let mut x = 0;
        while x < cells.len() {
            let start = x;
            while x < cells.len() && cells[x].bg == cells[start].bg {
                x += 1;
            }
            if cells[start].bg != DEFAULT_BG {
                let _ = writeln!(
                    svg,
                    r#"<rect x="{}" y="{top}" width="{}" height="{CELL_H}" fill="{}"/>"#,
                    PAD + start as f64 * CELL_W,
                    (x - start) as f64 * CELL_W,
                    cells[start].bg
                );
            }
        }
        let baseline = top + CELL_H * 0.75;
        let mut x = 0;
        while x < cells.len() {
            let start = x;
            let mut text = String::new();
            while x < cells.len()
                && cells[x].fg == cells[start].fg
                && same_font(&cells[x], &cells[start])
            {
                let col = u16::try_from(x).unwrap_or(u16::MAX);
                text.push_str(buf[(col, y)].symbol());
                x += 1;
            }
            if text.trim().is_empty() && !cells[start].underline {
                continue;
            }
            let c = &cells[start];
            let mut attrs = format!(r#" fill="{}""#, c.fg);
            if c.bold {
                attrs.push_str(r#" font-weight="bold""#);
            }
            if c.dim {
                attrs.push_str(r#" opacity="0.6""#);
            }
            if c.italic {
                attrs.push_str(r#" font-style="italic""#);
            }
            if c.underline {
                attrs.push_str(r#" text-decoration="underline""#);
            }
            let _ = writeln!(
                svg,
                r#"<text x="{}" y="{baseline}" textLength="{}" lengthAdjust="spacingAndGlyphs"{attrs}>{}</text>"#,
                PAD + start as f64 * CELL_W,
                (x - start) as f64 * CELL_W,
                escape(&text)
            );
        }
    }
    svg.push_str("</svg>\n");
    svg
}

fn same_font(a: &Look, b: &Look) -> bool {
    a.bold == b.bold && a.dim == b.dim && a.italic == b.italic && a.underline == b.underline
}
