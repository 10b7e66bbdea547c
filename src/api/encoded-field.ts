import { create, type DescField, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";

/**
 * A message whose one message-typed field is given already encoded. protobuf-es
 * writes unknown fields verbatim, so the message's binary encoding is byte for byte
 * the same as with the field set; serializing it only copies the bytes. This lets a
 * fan-out encode one event once instead of once per stream.
 *
 * Binary codec only: JSON leaves unknown fields out, so send the plain message there.
 */
export function withEncodedField<Desc extends DescMessage>(schema: Desc, field: DescField, encoded: Uint8Array): MessageShape<Desc> {
  const message = create(schema);
  // A length-delimited unknown field holds its length prefix as well as the bytes.
  message.$unknown = [{ no: field.number, wireType: WireType.LengthDelimited, data: new BinaryWriter().bytes(encoded).finish() }];
  return message;
}
