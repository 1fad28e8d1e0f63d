/* SPDX-License-Identifier: MIT */
/* cuse_lowlevel.h (umfs-fuse3): character devices in user space (CUSE) are out of
 * umfs's scope; umfs serves file systems only. Build CUSE programs against libfuse. */
#error "umfs-fuse3 does not provide CUSE (cuse_lowlevel.h): build this program against libfuse3"
