export {
  Opcode, Rcode, TsigErrorCode, RRClass, RRType, rcodeName, typeName, typeCode,
  normalizeName, encodeName, encodeMessage, decodeMessage, encodeRecord, MalformedMessageError,
  type Question, type ResourceRecord, type DecodedRecord, type HeaderFlags, type Message, type DecodedMessage,
} from './message.js';
export { parseValue, formatRdata, formatRdataBytes, canonicalValue, parseTxtStrings, formatTxtString, BadValueError } from './rdata.js';
export { tcpExchange, parseServer, formatServer, type ServerAddress, type TcpExchangeOptions } from './tcp.js';
