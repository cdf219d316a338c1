#pragma once
// Every differentiable op of the core, by family.
#include "strata/ops/activation.h"
#include "strata/ops/attention.h"
#include "strata/ops/conv.h"
#include "strata/ops/elementwise.h"
#include "strata/ops/indexing.h"
#include "strata/ops/matmul.h"
#include "strata/ops/norm.h"
#include "strata/ops/reduce.h"
#include "strata/ops/rope.h"
#include "strata/ops/selective_scan.h"
#include "strata/ops/shape_ops.h"
#include "strata/ops/softmax.h"
