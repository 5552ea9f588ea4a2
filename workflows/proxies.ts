// Workflows of TailscaleEndpoints and TailscaleProxyGroup (issue 6) are exported from here.
export {};
