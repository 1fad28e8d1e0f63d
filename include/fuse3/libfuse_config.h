/* SPDX-License-Identifier: MIT */
/* libfuse_config.h (umfs-fuse3) - build facts some programs include. umfs-fuse3 has
 * no symbol versions of its own: programs build from source against it. */
#pragma once
