// 직원·부서 관리 (HR admins only; the server checks the role again): everyone in the
// directory, the deactivated included, and every department, closed ones too.
import { useEffect } from "react";
import { useQuery } from "urql";
import type { Session } from "../../api";
import { graphql } from "../../gql";
import type { HrDepartmentsQuery, HrPeopleQuery } from "../../gql/graphql";
import { People } from "./People";
import { Departments } from "./Departments";

// Two documents: together they would weigh more than the query API's complexity bound
// (a list weighs its page size times its selection).
const HR_PEOPLE = graphql(`
  query HrPeople {
    employees(first: 100) {
      edges {
        node {
          employeeId name email positionTitle rank roles active version
          department { departmentId name }
          manager { employeeId name }
        }
      }
    }
  }
`);

const HR_DEPARTMENTS = graphql(`
  query HrDepartments {
    departments {
      departmentId name code closed version parent { departmentId name } head { employeeId name }
      hasOwnSchedule schedule { start end breakMinutes coreStart coreEnd workDays }
    }
  }
`);

export type HrEmployee = HrPeopleQuery["employees"]["edges"][number]["node"];
export type HrDepartment = HrDepartmentsQuery["departments"][number];

/** `generation` changes when the rest of the page changed the directory (a registration). */
export function Manage({ session, generation, onDone }: { session: Session; generation: number; onDone: () => void }) {
  const [people, refetchPeople] = useQuery({ query: HR_PEOPLE });
  const [departments, refetchDepartments] = useQuery({ query: HR_DEPARTMENTS });
  useEffect(() => {
    if (generation === 0) return;
    refetchPeople({ requestPolicy: "network-only" });
    refetchDepartments({ requestPolicy: "network-only" });
  }, [generation, refetchPeople, refetchDepartments]);
  const error = people.error ?? departments.error;
  if (error) return <p className="error">{error.message}</p>;
  if (!people.data || !departments.data) return null;
  const everyone = people.data.employees.edges.map((e) => e.node);
  const all = departments.data.departments;
  const refresh = () => {
    refetchPeople({ requestPolicy: "network-only" });
    refetchDepartments({ requestPolicy: "network-only" });
    onDone();
  };
  return (
    <>
      <People session={session} people={everyone} departments={all} onDone={refresh} />
      <Departments session={session} people={everyone} departments={all} onDone={refresh} />
    </>
  );
}
