export { crc32c, maskedCrc32c } from "./crc32c.js";
export { EventFileWriter } from "./eventFileWriter.js";
export { fileVersionEvent, scalarsEvent, sessionStartEvent } from "./eventProto.js";
export { tfRecord } from "./tfRecord.js";
