#include "normalize/normalize.h"

#include <gtest/gtest.h>

#include <string>

#include "normalize/punycode.h"

namespace chasquid::normalize {
namespace {

std::string UserOk(std::string_view in) {
  auto r = User(in);
  EXPECT_TRUE(r.ok()) << in << ": " << r.status().message();
  return r.ok() ? *r : "<error>";
}

std::string UserErr(std::string_view in) {
  auto r = User(in);
  EXPECT_FALSE(r.ok()) << in << " -> " << (r.ok() ? *r : "");
  return r.ok() ? "" : r.status().message();
}

TEST(UserTest, AsciiFastPath) {
  EXPECT_EQ(UserOk(""), "");
  EXPECT_EQ(UserOk("PEPE"), "pepe");
  EXPECT_EQ(UserOk("a*+.@!~b"), "a*+.@!~b");
  EXPECT_EQ(UserOk("1n"), "1n");        // No bidi rule on ASCII.
  EXPECT_EQ(UserOk("jose."), "jose.");  // Ditto.
  const std::string dis = "precis: disallowed rune encountered";
  for (const char* in :
       {"a b", "a\te", "x ", "x\vy", "x\fy", "x\ry", "\x7f", "a\x01"}) {
    EXPECT_EQ(UserErr(in), dis) << in;
  }
}

TEST(UserTest, SpecExamples) {
  EXPECT_EQ(UserOk("ÑAndÚ"), "ñandú");
  EXPECT_EQ(UserOk("Pingüino"), "pingüino");
  EXPECT_EQ(UserOk("ＡＢ"), "ab");  // Full-width.
  EXPECT_EQ(UserOk("Σ"), "σ");      // No final-sigma context.
  EXPECT_EQ(UserOk("ΑΣ"), "ασ");
  EXPECT_EQ(UserOk("ß"), "ß");  // Lower-casing, not case folding.
  EXPECT_EQ(UserOk("ς"), "ς");
  EXPECT_EQ(UserOk("e\u0301"), "é");  // NFC.
  EXPECT_EQ(UserOk("ñaca"), "ñaca");
}

TEST(UserTest, BidiRule) {
  const std::string bidi = "bidirule: failed Bidi Rule";
  EXPECT_EQ(UserErr("♚"), bidi);
  EXPECT_EQ(UserErr("²"), bidi);
  EXPECT_EQ(UserErr("1ñ"), bidi);
  EXPECT_EQ(UserErr("josé."), bidi);
  EXPECT_EQ(UserErr("á é"), bidi);  // Space is WS: bidi fails first.
  // A valid RTL label (Hebrew letters).
  EXPECT_EQ(UserOk("שלום"), "שלום");
  // Mixed LTR first char with RTL later.
  EXPECT_EQ(UserErr("aש"), bidi);
  // Arabic digits and European digits together.
  EXPECT_EQ(UserErr("ب1٢"), bidi);
}

TEST(UserTest, IdentifierClass) {
  const std::string dis = "precis: disallowed rune encountered";
  EXPECT_FALSE(User("x\u00a0y").ok());
  EXPECT_FALSE(User("x\u0085y").ok());
  EXPECT_EQ(UserErr("henry\u2163"), dis);  // Ⅳ: a compatibility character.
  EXPECT_FALSE(User("\u00b9").ok());
  EXPECT_FALSE(User("\u265a").ok());
  EXPECT_EQ(UserErr("a\uFB00"), dis);    // ﬀ ligature.
  EXPECT_EQ(UserErr("añ\u2603b"), dis);  // Snowman (ON passes bidi in LTR).
  // Invalid UTF-8 and lone continuation bytes.
  EXPECT_EQ(UserErr("ñ\xff"), dis);
  EXPECT_EQ(UserErr("\xc3"), dis);
  EXPECT_EQ(UserErr("\xed\xa0\x80ñ"), dis);  // Encoded surrogate.
  // Contextual rules: middle dot only between two 'l'.
  EXPECT_EQ(UserOk("l\u00b7l"), "l\u00b7l");
  EXPECT_EQ(UserErr("a\u00b7b"), dis);
  // ZWJ only after a virama.
  EXPECT_EQ(UserErr("añ\u200db"), dis);
  EXPECT_EQ(UserOk("\u0915\u094d\u200d\u0937"), "\u0915\u094d\u200d\u0937");
}

TEST(UserTest, OverlongInput) {
  std::string big(100000, 'A');
  EXPECT_EQ(UserOk(big), std::string(100000, 'a'));
  std::string bigu;
  for (int i = 0; i < 20000; i++) bigu += "Ñ";
  auto r = User(bigu);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size(), bigu.size());
}

TEST(DomainTest, Examples) {
  EXPECT_EQ(*Domain(""), "");
  EXPECT_EQ(*Domain("ÑAndÚ"), "ñandú");
  EXPECT_EQ(*Domain("xn--aca-6ma"), "ñaca");
  EXPECT_EQ(*Domain("xn--lca"), "ñ");
  EXPECT_EQ(*Domain("e\u0301"), "é");
  EXPECT_EQ(*Domain("Example.COM"), "example.com");
  EXPECT_EQ(*Domain("a.xn--aca-6ma.B"), "a.ñaca.b");
  // Upper-case prefix is not decoded.
  EXPECT_EQ(*Domain("XN--aca-6ma"), "xn--aca-6ma");
  // Labels with no non-basic code points.
  EXPECT_EQ(*Domain("xn--abc-"), "abc");
  // No STD3 or hyphen checks.
  EXPECT_EQ(*Domain("-a_b-.c d"), "-a_b-.c d");
}

TEST(DomainTest, BadPunycode) {
  auto r = Domain("xn---");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "idna: invalid label \"-\"");
  EXPECT_FALSE(Domain("xn--xyz-ñ").ok());
  EXPECT_FALSE(Domain("a.xn--99999999999999999.b").ok());  // Overflow.
  EXPECT_EQ(*Domain("xn--a-"), "a");
  EXPECT_FALSE(Domain("xn--ab$").ok());
  // Decodes to more than 1024 runes: Go refuses.
  std::string many = "xn--" + std::string(3000, 'a');
  (void)Domain(many);  // Must not hang or crash; result either way.
}

TEST(DomainTest, OverlongAndHostile) {
  std::string big;
  for (int i = 0; i < 5000; i++) big += "AÑ.";
  auto r = Domain(big);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size(), big.size());
  EXPECT_EQ(r->rfind("añ.añ.", 0), 0u);
  // Many punycode labels; each is bounded.
  std::string many;
  for (int i = 0; i < 2000; i++) many += "xn--aca-6ma.";
  r = Domain(many);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->rfind("ñaca.ñaca.", 0), 0u);
  // Invalid UTF-8 in a domain is replaced, not passed through.
  r = Domain(
      "a\xff"
      "b");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "a\uFFFDb");
  // Full-width letters are only lower-cased in domains (no width mapping).
  EXPECT_EQ(*Domain("ＡＢ"), "ａｂ");
}

TEST(PunycodeTest, RoundTrip) {
  for (const char* s : {"ñaca", "ñ", "bücher", "日本語", "abcñdef", "ü-x"}) {
    auto enc = PunycodeEncode(s);
    ASSERT_TRUE(enc.ok()) << s;
    auto dec = PunycodeDecode(*enc);
    ASSERT_TRUE(dec.ok()) << *enc;
    EXPECT_EQ(*dec, s);
  }
  EXPECT_EQ(*PunycodeEncode("ñaca"), "aca-6ma");
  EXPECT_EQ(*PunycodeEncode("bücher"), "bcher-kva");
  EXPECT_FALSE(PunycodeEncode("\xff").ok());
}

TEST(DomainTest, ToAscii) {
  EXPECT_EQ(*DomainToAscii("ñaca.com"), "xn--aca-6ma.com");
  EXPECT_EQ(*DomainToAscii("example.com"), "example.com");
  EXPECT_EQ(*DomainToAscii(""), "");
  EXPECT_FALSE(DomainToAscii("a.\xff").ok());
}

TEST(AddrTest, Addr) {
  EXPECT_EQ(*Addr("ÑAndÚ@xn--aca-6ma"), "ñandú@ñaca");
  EXPECT_EQ(*Addr("PEPE@Example.Com"), "pepe@example.com");
  EXPECT_EQ(*Addr("a@b@C"), "a@b@c");
  EXPECT_EQ(*Addr("nodomain"), "nodomain@");
  EXPECT_EQ(*Addr(""), "@");
  EXPECT_FALSE(Addr("a b@c").ok());
  EXPECT_FALSE(Addr("a@xn---").ok());
}

TEST(AddrTest, DomainToUnicode) {
  EXPECT_EQ(*DomainToUnicode("<>"), "<>");
  EXPECT_EQ(*DomainToUnicode("PEPE@xn--aca-6ma"), "PEPE@ñaca");
  EXPECT_FALSE(DomainToUnicode("a@xn--xyz-ñ").ok());
}

TEST(AddrTest, Split) {
  EXPECT_EQ(Split("a@b@c"),
            std::make_pair(std::string("a"), std::string("b@c")));
  EXPECT_EQ(Split("abc"), std::make_pair(std::string("abc"), std::string()));
  EXPECT_EQ(Split("@"), std::make_pair(std::string(), std::string()));
}

TEST(DropsTest, SpecExamples) {
  EXPECT_EQ(RemoveDropsAndSuffix("a.ñi_l-blah@dom", "+-", "._"), "añil@dom");
  EXPECT_EQ(RemoveDropCharacters("juana.perez+fruta@dom", "+-", "._"),
            "juanaperez+fruta@dom");
  // Drops after the separator are kept; separators are UTF-8 sets.
  EXPECT_EQ(RemoveDropCharacters("a.b+c.d@x", "+", "."), "ab+c.d@x");
  EXPECT_EQ(RemoveDropCharacters("a.bñc.d@x", "ñ", "."), "abñc.d@x");
  EXPECT_EQ(RemoveDropsAndSuffix("Ju.An.A+x@d", "+", "."), "juana@d");
  // Empty sets disable the feature.
  EXPECT_EQ(RemoveDropsAndSuffix("a.b+c@d", "", ""), "a.b+c@d");
  // Normalisation errors keep the (dropped) user.
  EXPECT_EQ(RemoveDropCharacters("A .B@d", "+", "."), "A B@d");
  // No '@': domain empty.
  EXPECT_EQ(RemoveDropsAndSuffix("a.b", "+", "."), "ab@");
  // Invalid UTF-8 does not crash.
  (void)RemoveDropCharacters("\xff.\xc3+\xff@d", "+", ".");
}

}  // namespace
}  // namespace chasquid::normalize
