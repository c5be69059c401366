// A document's body: each field under the label its form gives it, in the form's order.
import { useContext } from "react";
import { useQuery } from "urql";
import { graphql, useFragment, type FragmentType } from "../../gql";
import { fieldLabel, LangContext } from "../../i18n";
import { FieldValueFragment, valueText } from "../../format";

export const BodyFragment = graphql(`
  fragment DocumentBody on Approval {
    formId
    body { key value { ...FieldValueParts } }
  }
`);

const LABELS = graphql(`
  query FieldLabels {
    forms { id fields { key labelKo labelEn } }
  }
`);

export function Body(props: { doc: FragmentType<typeof BodyFragment> }) {
  const lang = useContext(LangContext);
  const doc = useFragment(BodyFragment, props.doc);
  const [forms] = useQuery({ query: LABELS });
  const fields = forms.data?.forms.find((f) => f.id === doc.formId)?.fields ?? [];
  const label = (key: string) => {
    const f = fields.find((d) => d.key === key);
    return f ? fieldLabel(f, lang) : key;
  };
  return (
    <section className="body">
      {doc.body.map((f) => (
        <p key={f.key}>
          <strong>{label(f.key)}</strong>: {valueText(useFragment(FieldValueFragment, f.value))}
        </p>
      ))}
    </section>
  );
}
