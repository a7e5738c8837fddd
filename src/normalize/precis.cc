#include "normalize/precis.h"

#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/uscript.h>
#include <unicode/ustring.h>

namespace chasquid::normalize::precis {

namespace {

std::vector<char32_t> FromUnicodeString(const icu::UnicodeString& s) {
  std::vector<char32_t> out;
  for (int32_t i = 0; i < s.length();) {
    UChar32 c = s.char32At(i);
    out.push_back(static_cast<char32_t>(c));
    i += U16_LENGTH(c);
  }
  return out;
}

// Go's width.Fold: fullwidth and halfwidth forms map to their canonical
// width, which is what their <wide>/<narrow> compatibility decomposition
// says.
void AppendWidthFolded(char32_t r, const icu::Normalizer2* nfkd,
                       icu::UnicodeString* out) {
  int dt =
      u_getIntPropertyValue(static_cast<UChar32>(r), UCHAR_DECOMPOSITION_TYPE);
  icu::UnicodeString decomposed;
  if ((dt == U_DT_WIDE || dt == U_DT_NARROW) &&
      nfkd->getDecomposition(static_cast<UChar32>(r), decomposed)) {
    out->append(decomposed);
    return;
  }
  out->append(static_cast<UChar32>(r));
}

}  // namespace

std::vector<char32_t> MapAndNormalize(const std::vector<char32_t>& runes) {
  UErrorCode err = U_ZERO_ERROR;
  const icu::Normalizer2* nfkd = icu::Normalizer2::getNFKDInstance(err);
  const icu::Normalizer2* nfc = icu::Normalizer2::getNFCInstance(err);
  if (U_FAILURE(err)) return runes;  // ICU data missing: nothing sane to do.

  icu::UnicodeString folded;
  for (char32_t r : runes) AppendWidthFolded(r, nfkd, &folded);

  // Full lower-casing one code point at a time: the same mappings as
  // UnicodeString::toLower with the root locale, but without the
  // final-sigma context (Go uses cases.HandleFinalSigma(false)).
  icu::UnicodeString lowered;
  for (int32_t i = 0; i < folded.length();) {
    UChar32 c = folded.char32At(i);
    i += U16_LENGTH(c);
    icu::UnicodeString one(c);
    one.toLower(icu::Locale::getRoot());
    lowered.append(one);
  }

  icu::UnicodeString normalized = nfc->normalize(lowered, err);
  if (U_FAILURE(err)) return FromUnicodeString(lowered);
  return FromUnicodeString(normalized);
}

// The state machine of golang.org/x/text/secure/bidirule.
bool BidiRuleValid(const std::vector<char32_t>& runes) {
  enum State { kInitial, kLTR, kLTRFinal, kRTL, kRTLFinal, kInvalid };
  auto bit = [](UCharDirection d) { return 1u << static_cast<unsigned>(d); };
  const unsigned L = bit(U_LEFT_TO_RIGHT), R = bit(U_RIGHT_TO_LEFT),
                 AL = bit(U_RIGHT_TO_LEFT_ARABIC), EN = bit(U_EUROPEAN_NUMBER),
                 ES = bit(U_EUROPEAN_NUMBER_SEPARATOR),
                 ET = bit(U_EUROPEAN_NUMBER_TERMINATOR),
                 AN = bit(U_ARABIC_NUMBER), CS = bit(U_COMMON_NUMBER_SEPARATOR),
                 BN = bit(U_BOUNDARY_NEUTRAL),
                 NSM = bit(U_DIR_NON_SPACING_MARK), ON = bit(U_OTHER_NEUTRAL);
  struct Transition {
    State next;
    unsigned mask;
  };
  const Transition table[6][2] = {
      /* kInitial */ {{kLTRFinal, L}, {kRTLFinal, R | AL}},
      /* kLTR */ {{kLTRFinal, L | EN}, {kLTR, ES | CS | ET | ON | BN | NSM}},
      /* kLTRFinal */
      {{kLTRFinal, L | EN | NSM}, {kLTR, ES | CS | ET | ON | BN}},
      /* kRTL */
      {{kRTLFinal, R | AL | EN | AN}, {kRTL, ES | CS | ET | ON | BN | NSM}},
      /* kRTLFinal */
      {{kRTLFinal, R | AL | EN | AN | NSM}, {kRTL, ES | CS | ET | ON | BN}},
      /* kInvalid */ {{kInvalid, 0}, {kInvalid, 0}},
  };
  State state = kInitial;
  unsigned seen = 0;
  for (char32_t r : runes) {
    unsigned c = bit(u_charDirection(static_cast<UChar32>(r)));
    seen |= c;
    // RFC 5893 §2 rule 4: EN and AN must not both appear.
    if ((seen & (EN | AN)) == (EN | AN)) return false;
    const Transition* tr = table[state];
    if (tr[0].mask & c) {
      state = tr[0].next;
    } else if (tr[1].mask & c) {
      state = tr[1].next;
    } else {
      state = kInvalid;
      if (seen & (R | AL | AN)) return false;
    }
  }
  return state == kLTRFinal || state == kRTLFinal || state == kInitial;
}

namespace {

enum class Prop { kPvalid, kContextJ, kContextO, kDisallowed };

bool IsScript(UChar32 c, UScriptCode script) {
  UErrorCode err = U_ZERO_ERROR;
  return uscript_getScript(c, &err) == script;
}

// RFC 8264 §8 (the derived property), IdentifierClass view: only PVALID
// and the CONTEXT* categories are allowed, everything else is disallowed.
Prop Classify(UChar32 c) {
  // §9.6 Exceptions (RFC 5892 §2.6).
  switch (c) {
    case 0x00DF:
    case 0x03C2:
    case 0x06FD:
    case 0x06FE:
    case 0x0F0B:
    case 0x3007:
      return Prop::kPvalid;
    case 0x00B7:
    case 0x0375:
    case 0x05F3:
    case 0x05F4:
    case 0x30FB:
      return Prop::kContextO;
    case 0x0640:
    case 0x07FA:
    case 0x302E:
    case 0x302F:
    case 0x3031:
    case 0x3032:
    case 0x3033:
    case 0x3034:
    case 0x3035:
    case 0x303B:
      return Prop::kDisallowed;
  }
  if ((c >= 0x0660 && c <= 0x0669) || (c >= 0x06F0 && c <= 0x06F9)) {
    return Prop::kContextO;
  }
  int8_t type = u_charType(c);
  if (type == U_UNASSIGNED &&
      !u_hasBinaryProperty(c, UCHAR_NONCHARACTER_CODE_POINT)) {
    return Prop::kDisallowed;  // Unassigned.
  }
  if (c >= 0x21 && c <= 0x7E) return Prop::kPvalid;  // ASCII7.
  if (u_hasBinaryProperty(c, UCHAR_JOIN_CONTROL)) return Prop::kContextJ;
  int hst = u_getIntPropertyValue(c, UCHAR_HANGUL_SYLLABLE_TYPE);
  if (hst == U_HST_LEADING_JAMO || hst == U_HST_VOWEL_JAMO ||
      hst == U_HST_TRAILING_JAMO) {
    return Prop::kDisallowed;  // OldHangulJamo.
  }
  if (u_hasBinaryProperty(c, UCHAR_DEFAULT_IGNORABLE_CODE_POINT) ||
      u_hasBinaryProperty(c, UCHAR_NONCHARACTER_CODE_POINT)) {
    return Prop::kDisallowed;  // PrecisIgnorableProperties.
  }
  if (type == U_CONTROL_CHAR) return Prop::kDisallowed;
  // HasCompat: toNFKC(cp) != cp. Such code points are only FREE_PVAL.
  UErrorCode err = U_ZERO_ERROR;
  const icu::Normalizer2* nfkc = icu::Normalizer2::getNFKCInstance(err);
  if (U_FAILURE(err) || !nfkc->isNormalized(icu::UnicodeString(c), err) ||
      U_FAILURE(err)) {
    return Prop::kDisallowed;
  }
  switch (type) {
    case U_LOWERCASE_LETTER:
    case U_UPPERCASE_LETTER:
    case U_OTHER_LETTER:
    case U_DECIMAL_DIGIT_NUMBER:
    case U_MODIFIER_LETTER:
    case U_NON_SPACING_MARK:
    case U_COMBINING_SPACING_MARK:
      return Prop::kPvalid;  // LetterDigits.
  }
  return Prop::kDisallowed;  // Spaces, symbols, punctuation, other: ID_DIS.
}

bool IsVirama(char32_t c) {
  return u_getCombiningClass(static_cast<UChar32>(c)) == 9;
}

int JoiningType(char32_t c) {
  return u_getIntPropertyValue(static_cast<UChar32>(c), UCHAR_JOINING_TYPE);
}

// RFC 5892 Appendix A.1: ZERO WIDTH NON-JOINER.
bool ZwnjOk(const std::vector<char32_t>& r, size_t i) {
  if (i > 0 && IsVirama(r[i - 1])) return true;
  // (Joining_Type:{L,D})(Joining_Type:T)*\u200C(Joining_Type:T)*
  // (Joining_Type:{R,D})
  size_t j = i;
  bool before = false;
  while (j > 0) {
    int jt = JoiningType(r[--j]);
    if (jt == U_JT_TRANSPARENT) continue;
    before = jt == U_JT_LEFT_JOINING || jt == U_JT_DUAL_JOINING;
    break;
  }
  if (!before) return false;
  for (j = i + 1; j < r.size(); j++) {
    int jt = JoiningType(r[j]);
    if (jt == U_JT_TRANSPARENT) continue;
    return jt == U_JT_RIGHT_JOINING || jt == U_JT_DUAL_JOINING;
  }
  return false;
}

bool ContextOk(const std::vector<char32_t>& r, size_t i) {
  char32_t c = r[i];
  auto any_of = [&](auto pred) {
    for (char32_t x : r) {
      if (pred(x)) return true;
    }
    return false;
  };
  switch (c) {
    case 0x200C:
      return ZwnjOk(r, i);
    case 0x200D:  // A.2 ZERO WIDTH JOINER.
      return i > 0 && IsVirama(r[i - 1]);
    case 0x00B7:  // A.3 MIDDLE DOT: between two 'l'.
      return i > 0 && i + 1 < r.size() && r[i - 1] == 0x6C && r[i + 1] == 0x6C;
    case 0x0375:  // A.4 GREEK LOWER NUMERAL SIGN: followed by Greek.
      return i + 1 < r.size() &&
             IsScript(static_cast<UChar32>(r[i + 1]), USCRIPT_GREEK);
    case 0x05F3:
    case 0x05F4:  // A.5/A.6 HEBREW GERESH/GERSHAYIM: preceded by Hebrew.
      return i > 0 && IsScript(static_cast<UChar32>(r[i - 1]), USCRIPT_HEBREW);
    case 0x30FB:  // A.7 KATAKANA MIDDLE DOT: some Hiragana/Katakana/Han.
      return any_of([](char32_t x) {
        UChar32 u = static_cast<UChar32>(x);
        return x != 0x30FB &&
               (IsScript(u, USCRIPT_HIRAGANA) ||
                IsScript(u, USCRIPT_KATAKANA) || IsScript(u, USCRIPT_HAN));
      });
  }
  if (c >= 0x0660 && c <= 0x0669) {  // A.8: no Extended Arabic-Indic.
    return !any_of([](char32_t x) { return x >= 0x06F0 && x <= 0x06F9; });
  }
  if (c >= 0x06F0 && c <= 0x06F9) {  // A.9: no Arabic-Indic.
    return !any_of([](char32_t x) { return x >= 0x0660 && x <= 0x0669; });
  }
  return false;
}

}  // namespace

bool IdentifierClassValid(const std::vector<char32_t>& runes) {
  for (size_t i = 0; i < runes.size(); i++) {
    switch (Classify(static_cast<UChar32>(runes[i]))) {
      case Prop::kPvalid:
        break;
      case Prop::kContextJ:
      case Prop::kContextO:
        if (!ContextOk(runes, i)) return false;
        break;
      case Prop::kDisallowed:
        return false;
    }
  }
  return true;
}

}  // namespace chasquid::normalize::precis
