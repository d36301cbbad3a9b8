//! Reading and writing the one-sheet workbooks of imports, exports and templates.
//! Columns are found by their Chinese header, so their order does not matter.

use calamine::{Data, Reader, Xlsx};
use rust_xlsxwriter::{Format, Workbook, XlsxError};
use std::io::Cursor;
use yidu_kernel::{AppError, AppResult, FieldError};

/// One column of a kind's sheet.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// The header, also the name of the column in error reports.
    pub header: &'static str,
    pub header_en: &'static str,
    pub required: bool,
    /// What to write, for the template's instructions sheet.
    pub hint_zh: &'static str,
    pub hint_en: &'static str,
    /// Keep as text in spreadsheet software (phone numbers, codes).
    pub text: bool,
}

/// The data rows of an uploaded sheet: each with its spreadsheet row number (1-based)
/// and its cells by column index of the kind's column list.
pub struct Table {
    pub rows: Vec<(u32, Vec<String>)>,
}

pub const MAX_ROWS: usize = 20_000;

/// The first sheet of an .xlsx file, checked against the expected columns. Every
/// problem with the file or its header row is reported at once.
pub fn read(bytes: &[u8], columns: &[Column]) -> AppResult<Table> {
    let file_error =
        |zh: &str, en: &str| AppError::Validation(vec![FieldError::new("文件", zh, en)]);
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return Err(file_error(
            "这是旧版 .xls 文件，请在表格软件中另存为 .xlsx 后再导入",
            "this is an old .xls file; save it as .xlsx and import again",
        ));
    }
    if !bytes.starts_with(b"PK\x03\x04") {
        return Err(file_error(
            "文件不是 .xlsx 电子表格（内容不符，与文件扩展名无关）",
            "the file is not an .xlsx spreadsheet (judged by its content, not its name)",
        ));
    }
    let mut book = Xlsx::new(Cursor::new(bytes)).map_err(|_| {
        file_error(
            "无法读取该文件：它不是有效的 .xlsx 电子表格",
            "cannot read the file: it is not a valid .xlsx spreadsheet",
        )
    })?;
    let range = match book.worksheet_range_at(0) {
        Some(Ok(r)) => r,
        _ => {
            return Err(file_error(
                "表格中没有工作表",
                "the workbook has no worksheet",
            ))
        }
    };
    let (r0, _c0) = range.start().unwrap_or((0, 0));
    let mut rows = range.rows();
    let Some(header) = rows.next() else {
        return Err(file_error(
            "工作表是空的，第 1 行应为表头",
            "the sheet is empty; row 1 must hold the headers",
        ));
    };
    // Map each expected column to its position in the sheet.
    let mut problems: Vec<FieldError> = Vec::new();
    let mut position: Vec<Option<usize>> = vec![None; columns.len()];
    for (i, cell) in header.iter().enumerate() {
        let h = clean_header(&cell_text(cell));
        if h.is_empty() {
            continue;
        }
        match columns
            .iter()
            .position(|c| c.header == h || c.header_en.eq_ignore_ascii_case(&h))
        {
            Some(k) if position[k].is_some() => problems.push(
                FieldError::new(
                    h.clone(),
                    "表头中该列重复出现",
                    "the column appears twice in the header",
                )
                .at_row(r0 + 1),
            ),
            Some(k) => position[k] = Some(i),
            None => problems.push(
                FieldError::new(
                    h.clone(),
                    format!("无法识别的列，应为：{}", headers(columns)),
                    "unknown column; see the template for the expected ones",
                )
                .at_row(r0 + 1),
            ),
        }
    }
    for (k, c) in columns.iter().enumerate() {
        if c.required && position[k].is_none() {
            problems.push(
                FieldError::new(c.header, "缺少必需的列", "a required column is missing")
                    .at_row(r0 + 1),
            );
        }
    }
    if !problems.is_empty() {
        return Err(AppError::Validation(problems));
    }
    let mut out = Vec::new();
    for (i, row) in rows.enumerate() {
        let cells: Vec<String> = position
            .iter()
            .map(|p| {
                p.and_then(|p| row.get(p))
                    .map(cell_text)
                    .unwrap_or_default()
            })
            .collect();
        if cells.iter().all(|c| c.is_empty()) {
            continue;
        }
        if out.len() >= MAX_ROWS {
            return Err(file_error(
                &format!("行数过多：一次最多导入 {MAX_ROWS} 行"),
                &format!("too many rows: at most {MAX_ROWS} per import"),
            ));
        }
        // Row 1 is the header; data starts at the next row of the sheet.
        out.push((r0 + i as u32 + 2, cells));
    }
    Ok(Table { rows: out })
}

/// "名称*" and "名称（必填）" mean "名称".
fn clean_header(s: &str) -> String {
    let t = s.trim();
    let t = t
        .strip_suffix("（必填）")
        .or_else(|| t.strip_suffix("(必填)"))
        .unwrap_or(t);
    t.trim_end_matches(['*', '＊']).trim().to_string()
}

fn headers(columns: &[Column]) -> String {
    columns
        .iter()
        .map(|c| c.header)
        .collect::<Vec<_>>()
        .join("、")
}

/// A cell as text. Whole numbers lose the ".0" spreadsheet software adds (phone numbers
/// typed as numbers stay readable).
pub fn cell_text(d: &Data) -> String {
    match d {
        Data::Empty => String::new(),
        Data::String(s) => s.trim().to_string(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => if *b { "是" } else { "否" }.to_string(),
        other => other.to_string().trim().to_string(),
    }
}

/// A workbook with one data sheet (headers in bold, then the rows) and, for templates,
/// a second sheet explaining each column.
pub fn write(
    sheet_name: &str,
    columns: &[Column],
    rows: &[Vec<String>],
    with_help: bool,
) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold().set_background_color(0xEEF0F3);
    let text = Format::new().set_num_format("@");
    {
        let ws = book.add_worksheet();
        ws.set_name(sheet_name)?;
        for (c, col) in columns.iter().enumerate() {
            let c = c as u16;
            let header = if col.required {
                format!("{}*", col.header)
            } else {
                col.header.to_string()
            };
            ws.write_string_with_format(0, c, header, &bold)?;
            ws.set_column_width(
                c,
                if col.header.contains("GeoJSON") {
                    40
                } else {
                    18
                },
            )?;
            if col.text {
                ws.set_column_format(c, &text)?;
            }
        }
        for (r, row) in rows.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                if !v.is_empty() {
                    ws.write_string((r + 1) as u32, c as u16, v)?;
                }
            }
        }
        ws.set_freeze_panes(1, 0)?;
    }
    if with_help {
        let ws = book.add_worksheet();
        ws.set_name("填写说明")?;
        let wrap = Format::new().set_text_wrap();
        for (c, h) in [
            "列 / Column",
            "必填 / Required",
            "填写说明",
            "How to fill in",
        ]
        .iter()
        .enumerate()
        {
            ws.write_string_with_format(0, c as u16, *h, &bold)?;
        }
        for (r, col) in columns.iter().enumerate() {
            let r = (r + 1) as u32;
            ws.write_string(r, 0, format!("{} / {}", col.header, col.header_en))?;
            ws.write_string(
                r,
                1,
                if col.required {
                    "是 / yes"
                } else {
                    "否 / no"
                },
            )?;
            ws.write_string_with_format(r, 2, col.hint_zh, &wrap)?;
            ws.write_string_with_format(r, 3, col.hint_en, &wrap)?;
        }
        let last = columns.len() as u32 + 2;
        ws.write_string(
            last,
            0,
            "第一个工作表的第 1 行是表头，从第 2 行起每行一条记录；带 * 的列必填。有任何错误时整个文件都不会导入，并列出每个问题所在的行和列。",
        )?;
        ws.write_string(
            last + 1,
            0,
            "Row 1 of the first sheet holds the headers, each further row one record; columns marked * are required. If anything is wrong nothing is imported, and every problem is listed with its row and column.",
        )?;
        ws.set_column_width(0, 24)?;
        ws.set_column_width(1, 14)?;
        ws.set_column_width(2, 60)?;
        ws.set_column_width(3, 60)?;
    }
    book.save_to_buffer()
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLS: &[Column] = &[
        Column {
            header: "名称",
            header_en: "Name",
            required: true,
            hint_zh: "",
            hint_en: "",
            text: false,
        },
        Column {
            header: "电话",
            header_en: "Phone",
            required: false,
            hint_zh: "",
            hint_en: "",
            text: true,
        },
    ];

    #[test]
    fn writes_and_reads_back() {
        let bytes = write(
            "测试",
            COLS,
            &[
                vec!["甲".into(), "0574-1".into()],
                vec!["乙".into(), String::new()],
            ],
            true,
        )
        .unwrap();
        let t = read(&bytes, COLS).unwrap();
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[0], (2, vec!["甲".to_string(), "0574-1".to_string()]));
        assert_eq!(t.rows[1], (3, vec!["乙".to_string(), String::new()]));
    }

    #[test]
    fn rejects_non_spreadsheets_and_bad_headers() {
        for junk in [
            &b"hello"[..],
            b"PK\x03\x04garbage",
            &[0xD0, 0xCF, 0x11, 0xE0, 0, 0],
        ] {
            let e = read(junk, COLS).err().expect("rejected");
            assert_eq!(e.details()[0].field, "文件");
        }
        let wrong = [
            Column {
                header: "别的",
                header_en: "Other",
                ..COLS[1]
            },
            COLS[1],
            COLS[1],
        ];
        let bytes = write("x", &wrong, &[], false).unwrap();
        let e = read(&bytes, COLS).err().expect("rejected");
        let fields: Vec<&str> = e.details().iter().map(|d| d.field.as_str()).collect();
        assert_eq!(fields, vec!["别的", "电话", "名称"]);
        assert!(e.details().iter().all(|d| d.row == Some(1)));
    }

    #[test]
    fn whole_numbers_lose_their_fraction() {
        assert_eq!(cell_text(&Data::Float(13800001234.0)), "13800001234");
        assert_eq!(cell_text(&Data::Float(1.5)), "1.5");
        assert_eq!(cell_text(&Data::String(" a ".into())), "a");
    }
}
