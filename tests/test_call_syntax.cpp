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
