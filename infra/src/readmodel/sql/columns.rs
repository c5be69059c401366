//! A typed row serialized straight into its table's column values: serde calls us once per
//! field, and each field lands in its column. A rebuild binds hundreds of thousands of rows;
//! going through a `serde_json::Value` map first cost a map, a key string per field and a
//! move per value for every one of them.
//!
//! Values map as they always have: strings and absent values to text, integers and flags to
//! integers, anything nested (lists, maps, structs) to its JSON text. A float, or an integer
//! past `i64`, is refused: no column holds one.

use serde::ser::{self, Impossible, Serialize};
use std::fmt;

/// A value bound into a statement.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Value {
    Text(Option<String>),
    Int(i64),
}

/// Why a row did not fit its table.
#[derive(Debug)]
pub struct Misfit(String);

impl fmt::Display for Misfit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Misfit {}

impl ser::Error for Misfit {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self(msg.to_string())
    }
}

/// A field value serde cannot give as one scalar: written as its JSON text instead.
const NESTED: &str = "\u{0}nested";

/// The values of `row` in `columns`' order. Every column must be filled by exactly one field
/// of the same name, and every field must have a column.
pub fn values_of<K, R: Serialize + ?Sized>(
    table: &str,
    columns: &[(&'static str, K)],
    row: &R,
) -> Result<Vec<Value>, Misfit> {
    let mut record = Record {
        table,
        columns,
        values: vec![None; columns.len()],
    };
    row.serialize(&mut record)?;
    record
        .values
        .into_iter()
        .zip(columns)
        .map(|(value, (name, _))| value.ok_or_else(|| Misfit(format!("a {table} row has no {name}"))))
        .collect()
}

struct Record<'a, K> {
    table: &'a str,
    columns: &'a [(&'static str, K)],
    values: Vec<Option<Value>>,
}

impl<K> Record<'_, K> {
    fn refused(&self) -> Misfit {
        Misfit(format!("a {} row is not a record", self.table))
    }
}

impl<K> ser::SerializeStruct for &mut Record<'_, K> {
    type Ok = ();
    type Error = Misfit;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Misfit> {
        let table = self.table;
        let Some(at) = self.columns.iter().position(|(name, _)| *name == key) else {
            return Err(Misfit(format!("a {table} row has a field {key} the table lacks")));
        };
        let value = match value.serialize(Scalar) {
            Err(e) if e.0 == NESTED => {
                Value::Text(Some(serde_json::to_string(value).map_err(|e| Misfit(e.to_string()))?))
            }
            Err(Misfit(why)) => return Err(Misfit(format!("{table}.{key}: {why}"))),
            Ok(value) => value,
        };
        if self.values[at].replace(value).is_some() {
            return Err(Misfit(format!("a {table} row has {key} twice")));
        }
        Ok(())
    }

    fn end(self) -> Result<(), Misfit> {
        Ok(())
    }
}

/// Refuses the compound shapes other than a struct (sequences, tuples, maps, variants) with
/// the serializer's own [`Refusal::refusal`].
macro_rules! compounds_refused {
    () => {
        fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Misfit> {
            self.refusal()
        }
        fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Misfit> {
            self.refusal()
        }
        fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeTupleStruct, Misfit> {
            self.refusal()
        }
        fn serialize_tuple_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleVariant, Misfit> {
            self.refusal()
        }
        fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Misfit> {
            self.refusal()
        }
        fn serialize_struct_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeStructVariant, Misfit> {
            self.refusal()
        }
    };
}

/// How a serializer refuses a shape it does not take.
trait Refusal {
    fn refusal<T>(&self) -> Result<T, Misfit>;
}

impl<K> Refusal for &mut Record<'_, K> {
    fn refusal<T>(&self) -> Result<T, Misfit> {
        Err(self.refused())
    }
}

impl Refusal for Scalar {
    fn refusal<T>(&self) -> Result<T, Misfit> {
        nested()
    }
}

/// Refuses anything but a struct at the top.
macro_rules! not_a_record {
    ($($method:ident($($arg:ty),*)),* $(,)?) => {
        $(fn $method(self, $(_: $arg),*) -> Result<Self::Ok, Misfit> {
            Err(self.refused())
        })*
    };
}

impl<K> ser::Serializer for &mut Record<'_, K> {
    type Ok = ();
    type Error = Misfit;
    type SerializeSeq = Impossible<(), Misfit>;
    type SerializeTuple = Impossible<(), Misfit>;
    type SerializeTupleStruct = Impossible<(), Misfit>;
    type SerializeTupleVariant = Impossible<(), Misfit>;
    type SerializeMap = Impossible<(), Misfit>;
    type SerializeStruct = Self;
    type SerializeStructVariant = Impossible<(), Misfit>;

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, Misfit> {
        Ok(self)
    }

    not_a_record!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_str(&str),
        serialize_bytes(&[u8]),
        serialize_none(),
        serialize_unit(),
        serialize_unit_struct(&'static str),
        serialize_unit_variant(&'static str, u32, &'static str),
    );

    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<(), Misfit> {
        Err(self.refused())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, _: &T) -> Result<(), Misfit> {
        Err(self.refused())
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), Misfit> {
        Err(self.refused())
    }
    compounds_refused!();
}

/// Integers become integer values, refused past `i64`.
macro_rules! integers {
    ($($method:ident($ty:ty)),*) => {
        $(fn $method(self, v: $ty) -> Result<Value, Misfit> {
            int(v)
        })*
    };
}

/// One field's value as a column value; anything nested answers [`NESTED`].
struct Scalar;

fn int(i: impl TryInto<i64> + fmt::Display + Copy) -> Result<Value, Misfit> {
    i.try_into()
        .map(Value::Int)
        .map_err(|_| Misfit(format!("{i} is not an integer a column holds")))
}

fn nested<T>() -> Result<T, Misfit> {
    Err(Misfit(NESTED.to_owned()))
}

impl ser::Serializer for Scalar {
    type Ok = Value;
    type Error = Misfit;
    type SerializeSeq = Impossible<Value, Misfit>;
    type SerializeTuple = Impossible<Value, Misfit>;
    type SerializeTupleStruct = Impossible<Value, Misfit>;
    type SerializeTupleVariant = Impossible<Value, Misfit>;
    type SerializeMap = Impossible<Value, Misfit>;
    type SerializeStruct = Impossible<Value, Misfit>;
    type SerializeStructVariant = Impossible<Value, Misfit>;

    fn serialize_bool(self, v: bool) -> Result<Value, Misfit> {
        Ok(Value::Int(i64::from(v)))
    }
    integers!(
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64)
    );
    integers!(
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64)
    );
    fn serialize_f32(self, v: f32) -> Result<Value, Misfit> {
        Err(Misfit(format!("{v} is not an integer a column holds")))
    }
    fn serialize_f64(self, v: f64) -> Result<Value, Misfit> {
        Err(Misfit(format!("{v} is not an integer a column holds")))
    }
    fn serialize_char(self, v: char) -> Result<Value, Misfit> {
        Ok(Value::Text(Some(v.to_string())))
    }
    fn serialize_str(self, v: &str) -> Result<Value, Misfit> {
        Ok(Value::Text(Some(v.to_owned())))
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<Value, Misfit> {
        nested()
    }
    fn serialize_none(self) -> Result<Value, Misfit> {
        Ok(Value::Text(None))
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<Value, Misfit> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<Value, Misfit> {
        Ok(Value::Text(None))
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Value, Misfit> {
        Ok(Value::Text(None))
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<Value, Misfit> {
        Ok(Value::Text(Some(variant.to_owned())))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, v: &T) -> Result<Value, Misfit> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<Value, Misfit> {
        nested()
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Misfit> {
        nested()
    }
    compounds_refused!();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::readmodel::sql::schema::Kind;
    use serde::Serialize;

    const COLUMNS: &[(&str, Kind)] = &[
        ("id", Kind::Key),
        ("n", Kind::Int),
        ("flag", Kind::Int),
        ("note", Kind::Text),
        ("tags", Kind::Text),
        ("kind", Kind::Key),
    ];

    #[derive(Serialize)]
    enum Shade {
        Dark,
    }

    #[derive(Serialize)]
    struct Row {
        id: String,
        n: u32,
        flag: bool,
        note: Option<String>,
        tags: Vec<&'static str>,
        kind: Shade,
    }

    /// The same values the `serde_json::Value` route gave: the stores' bytes do not change.
    #[test]
    fn a_row_lands_in_its_columns_as_the_json_route_put_it() {
        let row = Row {
            id: "a".into(),
            n: 7,
            flag: true,
            note: None,
            tags: vec!["x", "y"],
            kind: Shade::Dark,
        };
        let values = values_of("t", COLUMNS, &row).unwrap();
        assert_eq!(
            values,
            [
                Value::Text(Some("a".into())),
                Value::Int(7),
                Value::Int(1),
                Value::Text(None),
                Value::Text(Some(r#"["x","y"]"#.into())),
                Value::Text(Some("Dark".into())),
            ]
        );
    }

    #[test]
    fn a_field_without_a_column_a_column_without_a_field_and_a_float_are_refused() {
        #[derive(Serialize)]
        struct Extra {
            id: String,
            surplus: i64,
        }
        #[derive(Serialize)]
        struct Short {
            id: String,
        }
        #[derive(Serialize)]
        struct Float {
            id: f64,
        }
        let columns = &[("id", Kind::Key)];
        let extra = values_of(
            "t",
            columns,
            &Extra {
                id: "a".into(),
                surplus: 1,
            },
        );
        assert!(extra.unwrap_err().to_string().contains("surplus"));
        let short = values_of("t", &COLUMNS[..2], &Short { id: "a".into() });
        assert!(short.unwrap_err().to_string().contains("has no n"));
        assert!(values_of("t", columns, &Float { id: 1.5 }).is_err());
        assert!(values_of("t", columns, &u64::MAX).is_err());
    }
}
