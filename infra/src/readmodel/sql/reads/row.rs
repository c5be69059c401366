//! A selected row handed to its typed row's own `Deserialize`, column by column.
//!
//! A row is selected as its table's column list, so the cells come in the table's order and
//! each column's name and kind are known ([`Table`]). The row type's derived deserializer
//! reads them as a map of column name to value — the same shape `serde_json::from_value`
//! was given before — but without building that map: on `erp bench queries` building it
//! (an ordered map, a hashed key and a JSON value per column) was a third of every SQLite
//! read's time.

use crate::readmodel::sql::schema::{Kind, Table};
use crate::readmodel::StoreError;
use serde::de::value::{BorrowedStrDeserializer, Error as DeError};
use serde::de::{DeserializeSeed, Deserializer, Error as _, IntoDeserializer, MapAccess, Visitor};
use serde::forward_to_deserialize_any;

/// One selected row's columns, by position.
pub(crate) trait Cells {
    /// An integer column (`None` for NULL).
    fn int(&self, i: usize) -> Result<Option<i64>, StoreError>;
    /// A text column (`None` for NULL).
    fn text(&self, i: usize) -> Result<Option<String>, StoreError>;
}

/// Deserializes `R` from `row`, whose cells are `table`'s columns in order. A cell the store
/// cannot read fails with the store's own error; a cell the row type does not accept is
/// [`StoreError::Corrupt`].
pub(super) fn deserialize<R: serde::de::DeserializeOwned>(row: &dyn Cells, table: &Table) -> Result<R, StoreError> {
    let mut unreadable = None;
    let columns = Columns {
        row,
        columns: table.1,
        next: 0,
        unreadable: &mut unreadable,
    };
    let read = R::deserialize(columns);
    match (read, unreadable) {
        (_, Some(e)) => Err(e),
        (Ok(read), None) => Ok(read),
        (Err(e), None) => Err(StoreError::Corrupt(format!("{}: {e}", table.0))),
    }
}

/// The row as a map of column name to cell.
struct Columns<'r> {
    row: &'r dyn Cells,
    columns: &'static [(&'static str, Kind)],
    next: usize,
    /// Where a cell's read failed (the store's error is kept, not turned into text).
    unreadable: &'r mut Option<StoreError>,
}

impl<'de> Deserializer<'de> for Columns<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_map(self)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

impl<'de> MapAccess<'de> for Columns<'_> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, DeError> {
        match self.columns.get(self.next) {
            Some((name, _)) => seed.deserialize(BorrowedStrDeserializer::new(name)).map(Some),
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let i = self.next;
        self.next += 1;
        let (name, kind) = self.columns.get(i).ok_or_else(|| DeError::custom("no column left"))?;
        let cell = match kind {
            Kind::Int => self.row.int(i).map(Cell::Int),
            Kind::Key | Kind::Text => self.row.text(i).map(Cell::Text),
        };
        match cell {
            Ok(cell) => seed.deserialize(cell),
            Err(e) => {
                *self.unreadable = Some(e);
                Err(DeError::custom(format!("column {name} unreadable")))
            }
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.columns.len() - self.next)
    }
}

/// One cell, by its column's kind; `None` is SQL NULL.
enum Cell {
    Int(Option<i64>),
    Text(Option<String>),
}

impl<'de> Deserializer<'de> for Cell {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self {
            Cell::Int(Some(n)) => visitor.visit_i64(n),
            Cell::Text(Some(text)) => visitor.visit_string(text),
            Cell::Int(None) | Cell::Text(None) => visitor.visit_unit(),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self {
            Cell::Int(None) | Cell::Text(None) => visitor.visit_none(),
            cell => visitor.visit_some(cell),
        }
    }

    /// A newtype around the cell's value (as serde_json's values hand it over).
    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    /// A unit variant named by the text (as a JSON string would be).
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match self {
            Cell::Text(Some(text)) => text.into_deserializer().deserialize_enum(name, variants, visitor),
            cell => cell.deserialize_any(visitor),
        }
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    /// Cells held in memory: integers and texts by position, `Err` for one that cannot be read.
    struct Held(Vec<Result<Option<String>, ()>>);

    impl Cells for Held {
        fn int(&self, i: usize) -> Result<Option<i64>, StoreError> {
            match &self.0[i] {
                Ok(cell) => Ok(cell.as_deref().map(|n| n.parse().expect("an integer cell"))),
                Err(()) => Err(StoreError::Unavailable("the connection went away".into())),
            }
        }

        fn text(&self, i: usize) -> Result<Option<String>, StoreError> {
            self.0[i]
                .clone()
                .map_err(|()| StoreError::Unavailable("the connection went away".into()))
        }
    }

    fn cells(cells: &[Option<&str>]) -> Held {
        Held(cells.iter().map(|c| Ok(c.map(str::to_owned))).collect())
    }

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Standing {
        Open,
        Closed,
    }

    #[derive(Debug, PartialEq, Deserialize)]
    struct Name(String);

    #[derive(Debug, PartialEq, Deserialize)]
    struct Row {
        id: Option<String>,
        name: Name,
        #[serde(with = "crate::readmodel::rows::flag")]
        active: bool,
        rank: u8,
        standing: Standing,
        version: i64,
    }

    const TABLE: Table = (
        "people",
        &[
            ("id", Kind::Key),
            ("name", Kind::Text),
            ("active", Kind::Int),
            ("rank", Kind::Int),
            ("standing", Kind::Key),
            ("unknown_to_the_row", Kind::Text),
            ("version", Kind::Int),
        ],
        "id",
    );

    #[test]
    fn each_column_reaches_its_field_by_name() {
        let row = cells(&[
            None,
            Some("김민지"),
            Some("1"),
            Some("3"),
            Some("closed"),
            Some("x"),
            Some("7"),
        ]);
        let read: Row = deserialize(&row, &TABLE).unwrap();
        assert_eq!(
            read,
            Row {
                id: None,
                name: Name("김민지".into()),
                active: true,
                rank: 3,
                standing: Standing::Closed,
                version: 7
            }
        );
        let row = cells(&[
            Some("e1"),
            Some(""),
            Some("0"),
            Some("0"),
            Some("open"),
            None,
            Some("-1"),
        ]);
        let read: Row = deserialize(&row, &TABLE).unwrap();
        assert_eq!(
            (read.id.as_deref(), read.active, read.standing),
            (Some("e1"), false, Standing::Open)
        );
    }

    #[test]
    fn a_cell_the_row_does_not_accept_is_corrupt_and_names_the_table() {
        for (bad, what) in [
            (
                cells(&[None, None, Some("1"), Some("3"), Some("open"), None, Some("7")]),
                "NULL name",
            ),
            (
                cells(&[None, Some("a"), Some("1"), Some("300"), Some("open"), None, Some("7")]),
                "rank past u8",
            ),
            (
                cells(&[None, Some("a"), Some("1"), Some("3"), Some("ajar"), None, Some("7")]),
                "no such standing",
            ),
        ] {
            match deserialize::<Row>(&bad, &TABLE) {
                Err(StoreError::Corrupt(e)) => assert!(e.starts_with("people: "), "{what}: {e}"),
                other => panic!("{what}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_cell_the_store_cannot_read_fails_with_the_stores_error() {
        let mut row = cells(&[None, Some("a"), Some("1"), Some("3"), Some("open"), None, Some("7")]);
        row.0[3] = Err(());
        match deserialize::<Row>(&row, &TABLE) {
            Err(StoreError::Unavailable(e)) => assert!(e.contains("went away"), "{e}"),
            other => panic!("{other:?}"),
        }
    }
}
