import { constants } from 'node:os';

/** errno values, from Node's table of this platform's. */
export const { EPERM, ENOENT, ESRCH, EINTR, EAGAIN, EACCES, EEXIST, ENOTDIR, EINVAL, ENOSYS, EBUSY, ECHILD, ETIMEDOUT, EROFS, ENOMEM } = constants.errno;
