#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "call_syntax.hpp"
#include "input_error.hpp"

using icl::parse_call;
using icl::parse_number;

TEST(CallSyntax, BareName) {
  const icl::Call c = parse_call("isotropic");
  EXPECT_EQ(c.name, "isotropic");
  EXPECT_TRUE(c.args.empty());
  EXPECT_EQ(c.raw_args, "");
}

TEST(CallSyntax, OneArgument) {
  const icl::Call c = parse_call("power(1.5)");
  EXPECT_EQ(c.name, "power");
  EXPECT_EQ(c.args, std::vector<std::string>{"1.5"});
  EXPECT_EQ(c.raw_args, "1.5");
}

TEST(CallSyntax, TwoArgumentsWithWhitespace) {
  const icl::Call c = parse_call("  spiked ( 2 ,\t10 )  ");
  EXPECT_EQ(c.name, "spiked");
  EXPECT_EQ(c.args, (std::vector<std::string>{"2", "10"}));
  EXPECT_EQ(c.raw_args, "2 ,\t10");
}

TEST(CallSyntax, FileKeepsRawPath) {
  const icl::Call c = parse_call("file( some/path.txt )");
  EXPECT_EQ(c.name, "file");
  EXPECT_EQ(c.raw_args, "some/path.txt");
  EXPECT_EQ(c.args, std::vector<std::string>{"some/path.txt"});
}

TEST(CallSyntax, NamesWithDigitsAndUnderscores) {
  EXPECT_EQ(parse_call("random_exp").name, "random_exp");
  EXPECT_EQ(parse_call("_x2(1)").name, "_x2");
}

TEST(CallSyntax, MalformedCallsThrow) {
  for (const char* bad : {"", "   ", "power(", "power)", "power()", "power(  )", "spiked(1,)",
                          "spiked(,1)", "spiked(1,,2)", "Power(1)", "9x", "a(b(1))", "(1)",
                          "power(1) x", "po wer(1)", "power-law"}) {
    EXPECT_THROW(parse_call(bad), icl::InputError) << "'" << bad << "'";
  }
}

TEST(CallSyntax, ParseNumberGood) {
  EXPECT_EQ(parse_number("1.5", "x"), 1.5);
  EXPECT_EQ(parse_number("  -2e3 ", "x"), -2000.0);
  EXPECT_EQ(parse_number("10", "x"), 10.0);
  EXPECT_EQ(parse_number("0", "x"), 0.0);
}

TEST(CallSyntax, ParseNumberRejects) {
  for (const char* bad : {"abc", "1.5x", "nan", "NaN", "inf", "-inf", "1e999", "", "  ", "1 2"}) {
    EXPECT_THROW(parse_number(bad, "x"), icl::InputError) << "'" << bad << "'";
  }
}

TEST(CallSyntax, ParseNumberMessageNamesWhatAndText) {
  try {
    parse_number("1.5x", "shift scale");
    FAIL() << "no exception";
  } catch (const icl::InputError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("shift scale"), std::string::npos) << msg;
    EXPECT_NE(msg.find("1.5x"), std::string::npos) << msg;
  }
}

TEST(CallSyntax, Trim) {
  EXPECT_EQ(icl::trim(" \t a b \r\n"), "a b");
  EXPECT_EQ(icl::trim("   "), "");
}

TEST(CallSyntax, RangesExpandLikeTheConfigsLists) {
  EXPECT_EQ(icl::expand_range("10:1e4:*10", 100), (std::vector<double>{10, 100, 1000, 10000}));
  EXPECT_EQ(icl::expand_range("0.1:0.5:0.1", 100), (std::vector<double>{0.1, 0.2, 0.3, 0.4, 0.5}));
  EXPECT_EQ(icl::expand_range(" 2.5 ", 100), (std::vector<double>{2.5}));
  EXPECT_THROW(icl::expand_range("0:1e9:1", 1000), icl::InputError);
  for (const char* bad : {"1:2", "1:2:3:4", "3:1:1", "1:2:*1", "0:2:*2", "1:2:0", "a:2:1", ":2:1"})
    EXPECT_THROW(icl::expand_range(bad, 100), icl::InputError) << bad;
  EXPECT_EQ(icl::shortest(0.5), "0.5");
  EXPECT_EQ(icl::shortest(1e-6), "1e-06");
}

TEST(CallSyntax, RangesInsideACallGiveEveryCombination) {
  using V = std::vector<std::string>;
  EXPECT_EQ(icl::expand_call_ranges("geometric(10:1000:*10)", 100), (V{"geometric(10)", "geometric(100)", "geometric(1000)"}));
  EXPECT_EQ(icl::expand_call_ranges("spiked(1:2:1, 10, 3:4:1)", 100),
            (V{"spiked(1, 10, 3)", "spiked(1, 10, 4)", "spiked(2, 10, 3)", "spiked(2, 10, 4)"}));
  EXPECT_EQ(icl::expand_call_ranges(" power(1.0) ", 100), (V{"power(1.0)"}));  // no range: as written
  EXPECT_EQ(icl::expand_call_ranges("isotropic", 100), (V{"isotropic"}));
  EXPECT_THROW(icl::expand_call_ranges("spiked(1:100:1, 1:100:1)", 1000), icl::InputError);
}
