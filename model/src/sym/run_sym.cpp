#include "untorn/impl.h"
