export { loadConfig, parseConfig, resolveConfigPath, DEFAULT_CONFIG_PATH } from './load.js';
export {
  configSchema, formatPath, lockDirOf,
  type Config, type CertificateConfig, type DhparamsConfig, type DnsZoneConfig, type TlsaRecordConfig,
} from './schema.js';
