import type { Case } from '../lib/context.js';
import { cases as checkpoint } from './checkpoint.js';
import { cases as config_updates_without_affect } from './config_updates_without_affect.js';
import { cases as create } from './create.js';
import { cases as default_ } from './default.js';
import { cases as delete_ } from './delete.js';
import { cases as delete_only_create_resources } from './delete_only_create_resources.js';
import { cases as delete_resources } from './delete_resources.js';
import { cases as hooks } from './hooks.js';
import { cases as hooks_stdin } from './hooks_stdin.js';
import { cases as hostname } from './hostname.js';
import { cases as kill } from './kill.js';
import { cases as kill_all } from './kill_all.js';
import { cases as kill_no_effect } from './kill_no_effect.js';
import { cases as killsig } from './killsig.js';
import { cases as linux_cgroups_blkio } from './linux_cgroups_blkio.js';
import { cases as linux_cgroups_cpus } from './linux_cgroups_cpus.js';
import { cases as linux_cgroups_devices } from './linux_cgroups_devices.js';
import { cases as linux_cgroups_hugetlb } from './linux_cgroups_hugetlb.js';
import { cases as linux_cgroups_memory } from './linux_cgroups_memory.js';
import { cases as linux_cgroups_network } from './linux_cgroups_network.js';
import { cases as linux_cgroups_pids } from './linux_cgroups_pids.js';
import { cases as linux_devices } from './linux_devices.js';
import { cases as linux_intel_rdt } from './linux_intel_rdt.js';
import { cases as linux_masked_paths } from './linux_masked_paths.js';
import { cases as linux_memory_policy } from './linux_memory_policy.js';
import { cases as linux_net_devices } from './linux_net_devices.js';
import { cases as linux_mount_label } from './linux_mount_label.js';
import { cases as linux_ns_itype } from './linux_ns_itype.js';
import { cases as linux_ns_nopath } from './linux_ns_nopath.js';
import { cases as linux_ns_path } from './linux_ns_path.js';
import { cases as linux_ns_path_type } from './linux_ns_path_type.js';
import { cases as linux_process_apparmor_profile } from './linux_process_apparmor_profile.js';
import { cases as linux_process_selinux_label } from './linux_process_selinux_label.js';
import { cases as linux_readonly_paths } from './linux_readonly_paths.js';
import { cases as linux_rootfs_propagation } from './linux_rootfs_propagation.js';
import { cases as linux_seccomp } from './linux_seccomp.js';
import { cases as linux_seccomp_notify } from './linux_seccomp_notify.js';
import { cases as linux_sysctl } from './linux_sysctl.js';
import { cases as linux_uid_mappings } from './linux_uid_mappings.js';
import { cases as misc_props } from './misc_props.js';
import { cases as mounts } from './mounts.js';
import { cases as pidfile } from './pidfile.js';
import { cases as poststart } from './poststart.js';
import { cases as poststart_fail } from './poststart_fail.js';
import { cases as poststop } from './poststop.js';
import { cases as poststop_fail } from './poststop_fail.js';
import { cases as prestart } from './prestart.js';
import { cases as prestart_fail } from './prestart_fail.js';
import { cases as real_configs } from './real_configs.js';
import { cases as process_ } from './process.js';
import { cases as process_capabilities } from './process_capabilities.js';
import { cases as process_capabilities_fail } from './process_capabilities_fail.js';
import { cases as process_oom_score_adj } from './process_oom_score_adj.js';
import { cases as process_rlimits } from './process_rlimits.js';
import { cases as process_rlimits_fail } from './process_rlimits_fail.js';
import { cases as process_user } from './process_user.js';
import { cases as root_readonly_true } from './root_readonly_true.js';
import { cases as rootless } from './rootless.js';
import { cases as security_cwd } from './security_cwd.js';
import { cases as security_exe } from './security_exe.js';
import { cases as security_fds } from './security_fds.js';
import { cases as security_keyring } from './security_keyring.js';
import { cases as security_exec_cgroup } from './security_exec_cgroup.js';
import { cases as security_masked_paths } from './security_masked_paths.js';
import { cases as start } from './start.js';
import { cases as state } from './state.js';

/**
 * Every case, in the order they run: lifecycle, hooks, process, linux, then mounts, root,
 * misc and the default config, then the security cases (escapes runtimes have had CVEs
 * for; cited from docs/security.md where the spec has no sentence for them). File and case names are those of the runtime-tools
 * validation suite, so results can be set side by side.
 */
export const allCases: Case[] = [
  ...create,
  ...start,
  ...state,
  ...kill,
  ...kill_all,
  ...kill_no_effect,
  ...killsig,
  ...delete_,
  ...delete_resources,
  ...delete_only_create_resources,
  ...config_updates_without_affect,
  ...pidfile,
  ...prestart,
  ...prestart_fail,
  ...poststart,
  ...poststart_fail,
  ...poststop,
  ...poststop_fail,
  ...hooks,
  ...hooks_stdin,
  ...process_,
  ...process_user,
  ...process_capabilities,
  ...process_capabilities_fail,
  ...process_rlimits,
  ...process_rlimits_fail,
  ...process_oom_score_adj,
  ...linux_process_apparmor_profile,
  ...linux_process_selinux_label,
  ...hostname,
  ...linux_devices,
  ...linux_intel_rdt,
  ...linux_masked_paths,
  ...linux_memory_policy,
  ...linux_net_devices,
  ...linux_readonly_paths,
  ...linux_mount_label,
  ...linux_ns_itype,
  ...linux_ns_nopath,
  ...linux_ns_path,
  ...linux_ns_path_type,
  ...linux_rootfs_propagation,
  ...linux_seccomp,
  ...linux_seccomp_notify,
  ...linux_sysctl,
  ...linux_uid_mappings,
  ...rootless,
  ...checkpoint,
  ...linux_cgroups_blkio,
  ...linux_cgroups_cpus,
  ...linux_cgroups_devices,
  ...linux_cgroups_hugetlb,
  ...linux_cgroups_memory,
  ...linux_cgroups_network,
  ...linux_cgroups_pids,
  ...mounts,
  ...root_readonly_true,
  ...misc_props,
  ...default_,
  ...real_configs,
  ...security_cwd,
  ...security_fds,
  ...security_keyring,
  ...security_exec_cgroup,
  ...security_masked_paths,
  ...security_exe,
];
