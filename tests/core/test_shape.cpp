#include "catch.h"
#include "strata/error.h"
#include "strata/shape.h"

using namespace strata;

TEST_CASE("shape basics", "[shape]") {
  const Shape s{2, 3, 4};
  CHECK(s.rank() == 3);
  CHECK(s.numel() == 24);
  CHECK(s.at(-1) == 4);
  CHECK(s.to_string() == "[2, 3, 4]");
  CHECK(Shape{}.numel() == 1);
  CHECK(s.drop(1) == Shape{2, 4});
  CHECK(s.insert(0, 7) == Shape{7, 2, 3, 4});
  CHECK(s.insert(3, 7) == Shape{2, 3, 4, 7});
  CHECK(s.with(-1, 9) == Shape{2, 3, 9});
  CHECK(contiguous_strides(s) == Shape{12, 4, 1});
}

TEST_CASE("shape rank is limited to 5 with a clear error", "[shape][errors]") {
  CHECK_NOTHROW(Shape{1, 2, 3, 4, 5});
  REQUIRE_THROWS_AS((Shape{1, 2, 3, 4, 5, 6}), ShapeError);
  REQUIRE_THROWS_WITH((Shape{1, 2, 3, 4, 5, 6}), Catch::Contains("rank 6 exceeds the maximum rank 5"));
  Shape full{1, 2, 3, 4, 5};
  REQUIRE_THROWS_AS(full.push_back(6), ShapeError);
}

TEST_CASE("dims out of range name the op", "[shape][errors]") {
  REQUIRE_THROWS_WITH(normalize_dim(3, 3, "myop"), Catch::Contains("myop: dim 3 is out of range"));
  REQUIRE_THROWS_WITH(normalize_dim(-4, 3, "myop"), Catch::Contains("valid dims are -3..2"));
  CHECK(normalize_dim(-1, 3, "myop") == 2);
}

TEST_CASE("broadcast shapes follow numpy rules", "[shape]") {
  CHECK(broadcast_shapes({2, 1, 4}, {3, 1}, "t") == Shape{2, 3, 4});
  CHECK(broadcast_shapes({}, {3}, "t") == Shape{3});
  CHECK(broadcast_shapes({5, 0}, {1}, "t") == Shape{5, 0});
  REQUIRE_THROWS_WITH(broadcast_shapes({2, 3}, {4}, "add"),
                      Catch::Contains("add: shapes [2, 3] and [4] do not broadcast"));
}
