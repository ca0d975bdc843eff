//! A report read for its page, in one pass over its JSON text and in memory that does not
//! grow with its lists: every list longer than the page could show is kept as its first
//! entries and its length, and each list of files (objects with a `file_path`: the results,
//! errors, orphans of every command) is folded as it is read into what the page shows of it:
//! its files grouped by what is wrong, the first of each group, and the count per directory.
//! A report of a million invalid files is read in about the memory of its groups.

use std::collections::HashMap;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use sidecar_engine::discover::REPORT_MARKER;

use super::{group_of, pointer_escape, split_location, Text, EXAMPLES_PER_GROUP};

/// Entries kept of a long list: as many as a group shows.
pub const KEPT: usize = EXAMPLES_PER_GROUP;

/// A report as its page reads it.
pub struct Reading {
    /// The report, its lists cut to their first [`KEPT`] entries.
    pub value: Value,
    /// The lists of files, by JSON pointer.
    lists: HashMap<String, Listing>,
    /// The lists that were cut: pointer and full length, in the order read.
    pub cuts: Vec<(String, usize)>,
}

impl Reading {
    /// Reads a report's JSON text; from a file, holding no more of it than the page keeps.
    pub fn read(text: Text<'_>) -> Result<Reading, serde_json::Error> {
        match text {
            Text::Bytes(bytes) => Reading::from(serde_json::Deserializer::from_slice(bytes)),
            Text::File(path) => {
                let file = std::fs::File::open(path).map_err(serde_json::Error::io)?;
                Reading::from(serde_json::Deserializer::from_reader(
                    std::io::BufReader::new(file),
                ))
            }
        }
    }

    /// Whether the report is one of this tool's: a JSON object whose `generator` names it.
    pub fn is_report(&self) -> bool {
        self.value
            .get(REPORT_MARKER.0)
            .and_then(Value::as_str)
            .is_some_and(|g| g.starts_with(REPORT_MARKER.1))
    }

    fn from<'de, R: serde_json::de::Read<'de>>(
        mut deserializer: serde_json::Deserializer<R>,
    ) -> Result<Reading, serde_json::Error> {
        let mut lists = HashMap::new();
        let mut cuts = Vec::new();
        let value = Node {
            pointer: String::new(),
            lists: &mut lists,
            cuts: &mut cuts,
        }
        .deserialize(&mut deserializer)?;
        deserializer.end()?;
        Ok(Reading { value, lists, cuts })
    }

    /// The list of files at `pointer`, folded; `None` when there is none there.
    pub fn list(&self, pointer: &str) -> Option<&Listing> {
        self.lists.get(pointer)
    }
}

/// One listed file as the page shows it: the group it falls in and its cells (path,
/// location, message).
pub struct Problem {
    pub group: String,
    pub cells: Vec<String>,
}

impl Problem {
    /// What the page lists of a file record, whichever command wrote it: `None` for a file
    /// that is fine (valid, converted). The group is the format (`[Json]`), the status or
    /// action (`conflict`, `kept`), then the message with what differs from file to file
    /// taken out.
    pub fn of(record: &Map<String, Value>) -> Option<Problem> {
        let text = |key: &str| record.get(key).and_then(Value::as_str);
        if record.get("is_valid").and_then(Value::as_bool) == Some(true)
            || text("status") == Some("converted")
        {
            return None;
        }
        let path = text("file_path").unwrap_or_default().to_owned();
        if let Some(other) = text("other") {
            return Some(Problem {
                group: "values differ from those of a sidecar of the same name".into(),
                cells: vec![path, String::new(), format!("differs from {other}")],
            });
        }
        let message = ["error", "reason", "message"]
            .iter()
            .find_map(|k| text(k))
            .unwrap_or_default();
        let (rest, location) = split_location(message);
        let mut group = String::new();
        if let Some(format) = text("format") {
            group.push_str(&format!("[{format}] "));
        }
        let state = text("status").or_else(|| text("action"));
        if let Some(state) = state {
            group.push_str(state);
        }
        if !message.is_empty() || state.is_none() {
            if state.is_some() {
                group.push_str(": ");
            }
            group.push_str(&group_of(rest));
        }
        Some(Problem {
            group,
            cells: vec![path, location.to_owned(), message.to_owned()],
        })
    }
}

/// A group of listed files.
pub struct Group {
    pub name: String,
    pub count: u64,
    pub rows: Vec<Vec<String>>,
}

/// What the page shows of one list of files, folded as the list was read.
#[derive(Default)]
pub struct Listing {
    /// Files listed as not fine.
    pub listed: u64,
    groups: Vec<Group>,
    index: HashMap<String, usize>,
    /// Per directory: files not fine, and files listed.
    directories: HashMap<String, (u64, u64)>,
    /// Whether the list holds files that are fine too (`--all-results`).
    pub every_file: bool,
}

impl Listing {
    fn add(&mut self, record: &Map<String, Value>) {
        let Some(path) = record.get("file_path").and_then(Value::as_str) else {
            return;
        };
        let problem = Problem::of(record);
        let dir = path
            .rsplit_once('/')
            .map_or(".", |(d, _)| if d.is_empty() { "/" } else { d });
        let counts = match self.directories.get_mut(dir) {
            Some(counts) => counts,
            None => self.directories.entry(dir.to_owned()).or_default(),
        };
        counts.1 += 1;
        let Some(problem) = problem else {
            self.every_file = true;
            return;
        };
        counts.0 += 1;
        self.listed += 1;
        let i = match self.index.get(&problem.group) {
            Some(i) => *i,
            None => {
                self.index.insert(problem.group.clone(), self.groups.len());
                self.groups.push(Group {
                    name: problem.group,
                    count: 0,
                    rows: Vec::new(),
                });
                self.groups.len() - 1
            }
        };
        let group = &mut self.groups[i];
        group.count += 1;
        if group.rows.len() < EXAMPLES_PER_GROUP {
            group.rows.push(problem.cells);
        }
    }

    /// The groups, largest first.
    pub fn groups(&self) -> Vec<&Group> {
        let mut groups: Vec<&Group> = self.groups.iter().collect();
        groups.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
        groups
    }

    /// The directories with files not fine, most first: path, files not fine, files listed.
    pub fn worst_directories(&self) -> (usize, Vec<(&str, u64, u64)>) {
        let mut worst: Vec<(&str, u64, u64)> = self
            .directories
            .iter()
            .filter(|(_, (bad, _))| *bad > 0)
            .map(|(d, (bad, all))| (d.as_str(), *bad, *all))
            .collect();
        worst.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        (worst.len(), worst)
    }
}

/// A value being read at a pointer, with where lists and cuts are recorded.
struct Node<'a> {
    pointer: String,
    lists: &'a mut HashMap<String, Listing>,
    cuts: &'a mut Vec<(String, usize)>,
}

impl<'de> DeserializeSeed<'de> for Node<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON report")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            let value = access.next_value_seed(Node {
                pointer: format!("{}/{}", self.pointer, pointer_escape(&key)),
                lists: self.lists,
                cuts: self.cuts,
            })?;
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut kept = Vec::new();
        let mut listing: Option<Listing> = None;
        let mut len = 0usize;
        loop {
            let element = if len < KEPT {
                access.next_element_seed(Node {
                    pointer: format!("{}/{len}", self.pointer),
                    lists: self.lists,
                    cuts: self.cuts,
                })?
            } else {
                // Past what is kept, an entry is read only to be folded.
                access.next_element::<Value>()?
            };
            let Some(element) = element else {
                break;
            };
            if let Some(record) = element.as_object().filter(|o| o.contains_key("file_path")) {
                listing.get_or_insert_with(Listing::default).add(record);
            }
            if len < KEPT {
                kept.push(element);
            }
            len += 1;
        }
        if len > KEPT {
            self.cuts.push((self.pointer.clone(), len));
        }
        if let Some(listing) = listing {
            self.lists.insert(self.pointer, listing);
        }
        Ok(Value::Array(kept))
    }
}
