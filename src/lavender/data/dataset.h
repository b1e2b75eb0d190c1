// Image–text datasets in the layouts people already have, read into one record type:
//   - LLaVA conversations: a JSON list or JSONL of {"id", "image", "conversations": [{"from":
//     "human"|"gpt", "value"} | {"role": "user"|"assistant", "content"}]}
//   - Karpathy-style captions: {"images": [{"filename", "filepath"?, "split"?, "sentences":
//     [{"raw"}]}]}
//   - a plain list: one `image<TAB>text` per line
// Bad entries (malformed line, missing image or text, text that is empty after trimming) are
// reported with file and line, counted and skipped; only an unreadable file is an error.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace lavender::data {

enum class DatasetFormat { detect, llava_json, llava_jsonl, karpathy, tsv };
// "detect", "llava-json", "llava-jsonl", "karpathy", "tsv"; throws lavender::Error otherwise.
DatasetFormat parse_dataset_format(const std::string& name);
const char* dataset_format_name(DatasetFormat format);

struct Turn {
  std::string role;  // "user", "assistant" or "system" (LLaVA's human/gpt are mapped)
  std::string content;
};

struct DatasetRecord {
  std::string id;                     // the record's id, or "<file>:<line>" when it has none
  std::string image;                  // resolved path ("" for text-only conversation records)
  std::vector<Turn> turns;            // conversation data
  std::vector<std::string> captions;  // caption data (Karpathy, TSV)
  std::string split;                  // Karpathy's split when given
  std::string origin;                 // "<file>:<line>" (JSON list: "<file>#<index>")
};

struct DatasetReadResult {
  DatasetFormat format = DatasetFormat::detect;
  std::vector<DatasetRecord> records;
  std::vector<std::string> problems;  // one "origin: reason" per skipped entry
};

// Reads `path` (format detected from the extension and first bytes unless given); image paths
// that are relative are joined onto `image_root` when it is not empty. Throws lavender::Error
// only when the file cannot be read or (for whole-file JSON layouts) is not valid JSON.
DatasetReadResult read_dataset(const std::string& path, const std::string& image_root = "",
                               DatasetFormat format = DatasetFormat::detect);
// The same on text already in memory; `path` names it in messages and guides detection.
DatasetReadResult parse_dataset(const std::string& text, const std::string& path,
                                const std::string& image_root = "",
                                DatasetFormat format = DatasetFormat::detect);

// "<image>\nWhat is ..." → "What is ...": the placeholder is the VLM's, not words of the text.
std::string without_image_tokens(std::string text);

// Which text of a record the teacher draws maps for.
enum class TextChoice { assistant, user, all_turns, caption };

// The (image, text) pairs a record yields: each caption for caption data; for conversations the
// chosen turns joined by a space (image placeholders like "<image>" removed). Records without an
// image yield nothing.
struct ImageTextPair {
  std::string key;  // id, or id#k for the k-th caption of an image
  std::string image;
  std::string text;
  std::string origin;
};
std::vector<ImageTextPair> image_text_pairs(const DatasetRecord& record, TextChoice choice);

}  // namespace lavender::data
