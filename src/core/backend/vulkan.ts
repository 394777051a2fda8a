/**
 * Vulkan on Linux, as Dawn (the `webgpu` package) needs it: the loader (`libvulkan.so.1`, Debian's
 * `libvulkan1`) and a driver named by an ICD JSON. Where no GPU driver exists, Chromium's bundled
 * SwiftShader is a software Vulkan driver that gives Dawn an adapter (slow: for tests, not for training).
 */
import { existsSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Whether the Vulkan loader can be found (without it Dawn has no Vulkan adapter). */
export function vulkanLoaderPresent(): boolean {
  const dirs = [
    ...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean),
    '/usr/lib/x86_64-linux-gnu',
    '/usr/lib/aarch64-linux-gnu',
    '/usr/lib64',
    '/usr/lib',
    '/lib/x86_64-linux-gnu',
    '/usr/local/lib',
  ];
  return dirs.some((d) => existsSync(join(d, 'libvulkan.so.1')));
}

/**
 * The ICD JSON of Chromium's SwiftShader Vulkan driver (`vk_swiftshader_icd.json`, beside Chromium's
 * binary; Debian's package ships it though `dpkg -L chromium` may not list it), or null when none is found.
 */
export function softwareVulkanIcd(): string | null {
  const dirs = [
    '/usr/lib/chromium',
    '/usr/lib/chromium-browser',
    '/usr/lib64/chromium',
    '/usr/lib64/chromium-browser',
    '/opt/google/chrome',
    '/snap/chromium/current/usr/lib/chromium-browser',
  ];
  for (const bin of ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome']) {
    try {
      if (existsSync(bin)) dirs.push(dirname(realpathSync(bin)));
    } catch {
      // a dangling link: nothing to find there
    }
  }
  for (const d of dirs) {
    const icd = join(d, 'vk_swiftshader_icd.json');
    if (existsSync(icd) && existsSync(join(d, 'libvk_swiftshader.so'))) return icd;
  }
  return null;
}
